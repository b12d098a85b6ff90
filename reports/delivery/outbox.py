"""Delivery of reports to the authorities responsible for them, through an outbox.

When a report becomes open (filed by a signed-in citizen, or confirmed) a Delivery row is written
in the same transaction, one per destination. After commit a Celery task sends it
(`reports.jobs.delivery_queue` queues `reports.tasks.deliver`); the re-drive
(`send_pending_deliveries`, Celery beat every minute, or
`manage.py send_pending`) sends whatever is due and recovers rows stuck in "sending".

A send is three steps: claim the row (pending -> sending, committed), talk to the remote side with
no database lock held, record the outcome. A worker that dies between the first and the last step
leaves the row in "sending"; the re-drive picks it up after FIXPOINT_DELIVERY_STUCK_MINUTES and
sends it again with the same idempotency key (e-mail, webhook) or, for Open311, whose protocol has
no idempotency key, first searches the council's requests for it (reports.delivery.
open311.open311_find_filed; see docs/architecture.md, "Delivery").
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from authorities import routing
from authorities.models import Authority, AuthorityCategory, Category, DeliveryMethod
from config.aftercommit import after_commit
from config.commits import unflushed_transaction
from config.compiled import CompiledForIds, field_names, instance
from config.updates import update_each
from reports import jobs
from reports.exceptions import NotAllowed
from reports.models import Delivery, DeliveryStatus, Report, UpdateDelivery

from . import channels, facts
from .failures import DeliveryFailure, setting

logger = logging.getLogger(__name__)

WAKE_KEY = jobs.DELIVERIES
OutboxRow = TypeVar("OutboxRow", Delivery, UpdateDelivery)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)


def max_attempts() -> int:
    return int(setting("FIXPOINT_DELIVERY_MAX_ATTEMPTS", 12))


def max_unexpected_attempts() -> int:
    """An unexpected error (a bug, not the remote side) is retried, so that a glitch delays a
    delivery and never loses it, but only this many attempts: a bug that repeats fails the
    delivery with its reason, for staff to resend once it is fixed."""
    return int(setting("FIXPOINT_DELIVERY_MAX_UNEXPECTED_ATTEMPTS", 3))


def stuck_after() -> timedelta:
    return timedelta(minutes=float(setting("FIXPOINT_DELIVERY_STUCK_MINUTES", 10)))


# --- Writing the outbox -------------------------------------------------------------------------


def deliveries_create(*, report: Report, created: bool = False) -> list[Delivery]:
    """Write the report's delivery to its authority, unless there is one already (``created``:
    the report is new in this transaction, so there is none).

    Called inside the transaction that opened the report, which holds the report's row (created
    or locked by report_transition), so two calls cannot race past the existence check.
    """
    return deliveries_create_many(reports=[report], created=created)


def deliveries_create_many(*, reports: Sequence[Report], created: bool = False) -> list[Delivery]:
    """deliveries_create for several reports (a worker's batch of follow-ups, whose rows it
    holds): one query for the deliveries they have already, one insert for the new ones."""
    wanted = {(r.pk, r.authority_id, r.category_id): r for r in reports}
    if not created and wanted:
        for row in _DELIVERIES_OF.run([r.pk for r in reports]):
            wanted.pop((row["report_id"], row["authority_id"], row["category_id"]), None)
    new = [_new_delivery(report) for report in wanted.values()]
    Delivery.objects.bulk_create(new)
    for delivery in new:
        if delivery.destination_id is None:  # routing only picks authorities that handle it
            _finish(delivery, DeliveryStatus.FAILED, error="No destination for this category.")
    if due := [d.pk for d in new if d.destination_id is not None]:
        after_commit(wake_workers, *due)
    return new


def _deliveries_of(*report_ids: int) -> QuerySet[Delivery, Any]:
    have = Delivery.objects.filter(report_id__in=report_ids)
    return have.values("report_id", "authority_id", "category_id")


# The deliveries reports have: a worker's batch of follow-ups asks every time, so its SQL is
# compiled once (per padded number of reports).
_DELIVERIES_OF = CompiledForIds(_deliveries_of, primary=True)


def _new_delivery(report: Report) -> Delivery:
    destination_id, method = _destination(report.authority_id, report.category_id)
    return Delivery(
        report=report,
        authority_id=report.authority_id,
        category_id=report.category_id,
        destination_id=destination_id,
        method=method,
    )


def _destination(authority_id: int, category_id: int) -> tuple[int | None, str]:
    """The link's id and method: from the routing index for the active links routing chooses
    (no query), else from the table (staff may re-route to a link that is switched off)."""
    known = routing.destination(authority_id, category_id)
    if known is not None:
        return known
    link = (
        AuthorityCategory.objects.filter(authority_id=authority_id, category_id=category_id)
        .values_list("id", "delivery_method")
        .first()
    )
    return link if link is not None else (None, DeliveryMethod.EMAIL)


def wake_workers(*delivery_ids: int) -> None:
    """After the commit that wrote new deliveries: have a worker send them. With a broker, or
    this process's worker thread, new deliveries share wake-ups (reports.jobs); otherwise each
    is sent when queued."""
    if jobs.coalescing():
        jobs.deliveries_wake()
        return
    for delivery_id in delivery_ids:
        jobs.delivery_queue(delivery_id)


def deliveries_dispatch(*, now: datetime | None = None, limit: int = 500) -> int:
    """A wake-up's work (in a worker): the due pending deliveries, each queued as a task of its
    own for the Celery workers to share; or, on this process's one worker thread (no broker),
    where fanning out shares nothing, sent here in batches (``deliveries_send``). Up to
    ``limit`` of them. Sent here, if there may be more, another wake-up sends the next ones at
    once: the wake-ups of a burst's deliveries all found this one pending, and the re-drive
    comes a minute later. Queued, they stay pending until a worker claims them, so another
    wake-up would queue them again: the re-drive sends what is left."""
    jobs.woken(WAKE_KEY)
    now = now or timezone.now()
    ids = _due_ids(now, ignore_backoff=False, limit=limit)
    if jobs.in_process():
        deliveries_send(delivery_ids=ids, now=now)
        if len(ids) == limit:  # more may be due (a burst): the next wake-up, not the re-drive
            jobs.deliveries_wake()
        return len(ids)
    for delivery_id in ids:
        jobs.delivery_queue(delivery_id)
    return len(ids)


def _due_ids(now: datetime, *, ignore_backoff: bool, limit: int) -> list[int]:
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING)
    if not ignore_backoff:
        due = due.filter(next_attempt_at__lte=now)
    return list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


# --- Sending -------------------------------------------------------------------------------------


def delivery_send(
    *, delivery_id: int, ignore_backoff: bool = False, now: datetime | None = None
) -> str:
    """Send one delivery if it is pending (and due). Returns its status afterwards."""
    delivery = _claim(delivery_id, now or timezone.now(), ignore_backoff)
    if delivery is None:  # sent, failed, not due, or being sent by another worker
        status = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return status or ""

    def stamp_report(sent_at: datetime) -> None:
        Report.objects.filter(pk=delivery.report_id, sent_at__isnull=True).update(sent_at=sent_at)

    return attempt(delivery, lambda: channels.send(delivery), on_sent=stamp_report)


def attempt(
    row: OutboxRow,
    send: Callable[[], str],
    *,
    on_sent: Callable[[datetime], None] | None = None,
) -> str:
    """One send of a claimed row, and its outcome recorded: sent (with the remote id), pending
    again after a backoff, or failed. Returns the row's status afterwards."""
    outcome = _outcome(row, send)
    with unflushed_transaction():  # the row's outcome and the report's stamp, in one commit
        _finish(row, outcome.status, **outcome.fields)
        if on_sent is not None and outcome.status == DeliveryStatus.SENT:
            on_sent(outcome.fields["sent_at"])
    return outcome.status


@dataclass
class Outcome:
    """What one send of a claimed row came to, before it is recorded (``_finish``)."""

    status: str
    fields: dict[str, Any]


def _outcome(row: OutboxRow, send: Callable[[], str]) -> Outcome:
    try:
        remote_id = send()
    except DeliveryFailure as exc:
        return _failure(row, exc.reason, permanent=exc.permanent)
    except Exception as exc:  # a bug must delay a delivery, never lose it; retried a few times
        logger.exception("%s %s failed unexpectedly", type(row).__name__, row.pk)
        reason = f"Unexpected error: {type(exc).__name__}: {exc}"
        return _failure(row, reason, permanent=False, limit=max_unexpected_attempts())
    return Outcome(DeliveryStatus.SENT, {"remote_id": remote_id, "sent_at": timezone.now()})


SEND_BATCH = 20  # deliveries claimed together, and their outcomes recorded in one commit


def deliveries_send(
    *, delivery_ids: Sequence[int], ignore_backoff: bool = False, now: datetime | None = None
) -> RedriveSummary:
    """Send those of these deliveries that are pending (and due), by one worker alone: the
    embedded thread, or a re-drive. In batches of SEND_BATCH: each claimed by one statement,
    read by one query, and its outcomes recorded in one commit, where one by one each delivery
    cost two commits and a read (docs/benchmarks.md). A worker that dies in mid-batch leaves
    the batch's rows in "sending", for the re-drive to send again with the same Message-ID or
    key, as it does a single row."""
    summary = RedriveSummary()
    for start in range(0, len(delivery_ids), SEND_BATCH):
        batch = delivery_ids[start : start + SEND_BATCH]
        for status in _send_batch(batch, now or timezone.now(), ignore_backoff):
            summary.count(status)
    return summary


def _send_batch(delivery_ids: Sequence[int], now: datetime, ignore_backoff: bool) -> list[str]:
    claimed = claim_many(Delivery, delivery_ids, now=now, ignore_backoff=ignore_backoff)
    if not claimed:
        return []
    deliveries = [_claimed_delivery(row) for row in _CLAIMED.run(claimed)]
    facts.photos_read([d.report for d in deliveries])
    # The batch's last rows wait for its first sends: past half the time after which a row in
    # "sending" counts as stuck (and a re-drive elsewhere would send it too), the rest go back.
    give_back_at = timezone.now() + stuck_after() / 2
    with channels.sharing_connections():
        outcomes = [
            (
                d,
                _outcome(d, partial(channels.send, d))
                if timezone.now() < give_back_at
                else _later(d),
            )
            for d in deliveries
        ]
    with unflushed_transaction():
        sent = [(d, o) for d, o in outcomes if o.status == DeliveryStatus.SENT]
        _finish_sent(sent)
        for delivery, outcome in outcomes:
            if outcome.status != DeliveryStatus.SENT:
                _finish(delivery, outcome.status, **outcome.fields)
    return [outcome.status for _, outcome in outcomes]


def _later(delivery: Delivery) -> Outcome:
    """A claimed row not tried after all: pending and due again, its attempt not counted."""
    fields = {"error": delivery.last_error, "next_attempt_at": timezone.now()}
    return Outcome(DeliveryStatus.PENDING, {**fields, "attempts": F("attempts") - 1})


def _finish_sent(sent: list[tuple[Delivery, Outcome]]) -> None:
    """The rows sent, and their reports' first sending stamped, in a statement each."""
    if not sent:
        return
    rows = [
        Delivery(pk=d.pk, status=DeliveryStatus.SENT, claimed_at=None, last_error="", **o.fields)
        for d, o in sent
    ]
    fields = ["status", "claimed_at", "last_error", "remote_id", "sent_at"]
    recorded = update_each(Delivery, rows, fields, where={"status": DeliveryStatus.SENDING})
    if recorded < len(rows):
        logger.warning(
            "%s deliveries changed while sending; outcome sent not recorded", len(rows) - recorded
        )
    first = {d.report_id: o.fields["sent_at"] for d, o in reversed(sent)}
    stamps = [Report(pk=report_id, sent_at=at) for report_id, at in first.items()]
    update_each(Report, stamps, ["sent_at"], where={"sent_at": None})


def _claim(delivery_id: int, now: datetime, ignore_backoff: bool) -> Delivery | None:
    if not claim(Delivery, delivery_id, now=now, ignore_backoff=ignore_backoff):
        return None
    return _claimed(delivery_id)


NO_POLYGON = ("boundary",)  # channels name the authority; never decode its polygon
_CLAIMED_FIELDS = (
    *field_names(Delivery),
    *field_names(Report, "report__"),
    *field_names(Category, "report__category__"),
    *field_names(Authority, "report__authority__", leave_out=NO_POLYGON),
    *field_names(User, "report__reporter__"),
    *field_names(AuthorityCategory, "destination__"),
)


# Claimed deliveries with what their channels read (the report, its category, authority and
# reporter, the destination), as select_related would load them, by SQL compiled once per padded
# number of ids (config.compiled): building that query cost more than running it, on every
# delivery and every worker's batch (docs/benchmarks.md). From the primary: the rows were
# claimed there a moment ago.
def _claimed_rows(*delivery_ids: int) -> QuerySet[Delivery, dict[str, Any]]:
    claimed = Delivery.objects.filter(pk__in=delivery_ids)
    return claimed.order_by("pk").values(*_CLAIMED_FIELDS)


_CLAIMED = CompiledForIds(_claimed_rows, primary=True)


def _claimed(delivery_id: int) -> Delivery:
    [row] = _CLAIMED.run([delivery_id])
    return _claimed_delivery(row)


def _claimed_delivery(row: dict[str, Any]) -> Delivery:
    delivery = instance(Delivery, row)
    report = instance(Report, row, "report__")
    report.category = instance(Category, row, "report__category__")
    report.authority = instance(Authority, row, "report__authority__", leave_out=NO_POLYGON)
    report.reporter = (
        instance(User, row, "report__reporter__") if row["report__reporter__id"] else None
    )
    delivery.report = report
    delivery.destination = (
        instance(AuthorityCategory, row, "destination__") if row["destination__id"] else None
    )
    return delivery


def claim(model: type[OutboxRow], pk: int, *, now: datetime, ignore_backoff: bool) -> bool:
    """Take a pending row of an outbox (a Delivery, an UpdateDelivery) for sending, in a short
    transaction of its own: pending -> sending, one more attempt. False when it is not pending
    (sent, failed, not due, or another worker's)."""
    with unflushed_transaction():  # bookkeeping (config.commits): lost in a crash, sent again
        pending = model.objects.select_for_update(skip_locked=True).filter(
            pk=pk, status=DeliveryStatus.PENDING
        )
        if not ignore_backoff:
            pending = pending.filter(next_attempt_at__lte=now)
        claimed = pending.update(
            status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return bool(claimed)


def claim_many(
    model: type[OutboxRow], pks: Sequence[int], *, now: datetime, ignore_backoff: bool
) -> list[int]:
    """claim() for several rows in one transaction: the ids of those taken, rows that are not
    pending (or due), or that another worker holds, left out."""
    with unflushed_transaction():
        pending = model.objects.select_for_update(skip_locked=True).filter(
            pk__in=pks, status=DeliveryStatus.PENDING
        )
        if not ignore_backoff:
            pending = pending.filter(next_attempt_at__lte=now)
        taken = list(pending.order_by("pk").values_list("pk", flat=True))
        if taken:
            model.objects.filter(pk__in=taken).update(
                status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
            )
    return taken


def _failure(
    delivery: OutboxRow, reason: str, *, permanent: bool, limit: int | None = None
) -> Outcome:
    """A send that failed: given up (failed), or pending again after a backoff."""
    name = f"{type(delivery).__name__} {delivery.pk}"
    if permanent or delivery.attempts >= min(limit or max_attempts(), max_attempts()):
        if not permanent:
            reason = f"Gave up after {delivery.attempts} attempts. {reason}"
        logger.error("%s failed: %s", name, reason)
        return Outcome(DeliveryStatus.FAILED, {"error": reason})
    next_at = timezone.now() + retry_delay(delivery.attempts)
    logger.warning("%s will be retried at %s: %s", name, next_at, reason)
    return Outcome(DeliveryStatus.PENDING, {"error": reason, "next_attempt_at": next_at})


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff (1, 2, 4 ... minutes, at most 6 hours) with "equal jitter": half the
    delay is fixed, half random, so deliveries that failed together do not retry together."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return delay / 2 + delay * random.uniform(0, 0.5)  # noqa: S311 (jitter, not a secret)


def _finish(delivery: OutboxRow, status: str, **fields: object) -> None:
    """Record an outcome, only if the row is as this worker left it: if the re-drive or an admin
    changed it meanwhile, their decision stands and this outcome is only logged."""
    fields = {"last_error": fields.pop("error", ""), **fields}
    changed = (
        type(delivery)
        .objects.filter(pk=delivery.pk, status=delivery.status)
        .update(status=status, claimed_at=None, **fields)
    )
    if not changed:
        logger.warning(
            "%s %s changed while sending; outcome %s not recorded",
            type(delivery).__name__,
            delivery.pk,
            status,
        )


# --- The re-drive --------------------------------------------------------------------------------


@dataclass
class RedriveSummary:
    recovered: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def count(self, status: str) -> None:
        self.sent += status == DeliveryStatus.SENT
        self.retrying += status == DeliveryStatus.PENDING
        self.failed += status == DeliveryStatus.FAILED


def deliveries_send_due(
    *, ignore_backoff: bool = False, now: datetime | None = None, limit: int = 500
) -> RedriveSummary:
    """One pass: recover deliveries stuck in "sending", then send the pending ones that are due
    (all pending ones with ignore_backoff)."""
    now = now or timezone.now()
    recovered = _recover_stuck(now)
    due = _due_ids(now, ignore_backoff=ignore_backoff, limit=limit)
    summary = deliveries_send(delivery_ids=due, ignore_backoff=ignore_backoff, now=now)
    summary.recovered = recovered
    return summary


def _recover_stuck(now: datetime) -> int:
    return recover_stuck(Delivery, now)


def recover_stuck(model: type[OutboxRow], now: datetime) -> int:
    """Rows of an outbox left in "sending" by a worker that died: pending again, due now."""
    with transaction.atomic():
        stuck = list(
            model.objects.select_for_update(skip_locked=True).filter(
                status=DeliveryStatus.SENDING, claimed_at__lt=now - stuck_after()
            )
        )
        for delivery in stuck:
            _recover(delivery, now)
    return len(stuck)


def _recover(delivery: OutboxRow, now: datetime) -> None:
    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, now
    delivery.last_error = (
        "Interrupted while sending; the council's requests are searched for it before it is "
        "filed again."
        if delivery.method == DeliveryMethod.OPEN311 and isinstance(delivery, Delivery)
        else "Interrupted while sending; sent again with the same idempotency key."
    )
    delivery.claimed_at = None
    delivery.save(update_fields=["status", "next_attempt_at", "last_error", "claimed_at"])
    logger.warning(
        "%s %s was stuck in sending: %s", type(delivery).__name__, delivery.pk, delivery.last_error
    )


# --- By hand (admin) -----------------------------------------------------------------------------


@transaction.atomic
def delivery_resend(*, delivery_id: int) -> Delivery:
    """Send a failed (or waiting) delivery again now, e.g. after its address was corrected."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    refusal = _("Delivery %(id)s is “%(status)s”: it cannot be resent.")
    rearm(delivery, refusal % {"id": delivery.pk, "status": delivery.get_status_display()})
    after_commit(jobs.delivery_queue, delivery.pk)
    return delivery


def rearm(row: OutboxRow, refusal: str) -> None:
    """Make a failed or waiting row (locked by the caller) due now, to its authority's current
    destination for the category, so an address mended since is the one used; a row sent or
    being sent is refused with ``refusal``."""
    if row.status not in (DeliveryStatus.FAILED, DeliveryStatus.PENDING):
        raise NotAllowed(refusal)
    destination = AuthorityCategory.objects.filter(
        authority_id=row.authority_id, category_id=row.category_id
    ).first()
    row.destination = destination
    row.method = destination.delivery_method if destination else row.method
    row.status, row.next_attempt_at = DeliveryStatus.PENDING, timezone.now()
    row.save(update_fields=["destination", "method", "status", "next_attempt_at"])


@transaction.atomic
def delivery_mark_sent(*, delivery_id: int, remote_id: str = "") -> Delivery:
    """Record that the authority has the report by other means (or got it before a crash)."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    if delivery.status == DeliveryStatus.SENT:
        return delivery
    delivery.status, delivery.sent_at = DeliveryStatus.SENT, timezone.now()
    delivery.remote_id = remote_id or delivery.remote_id
    delivery.last_error = f"Marked as sent by hand. {delivery.last_error}".strip()[:2000]
    delivery.claimed_at = None
    delivery.save(update_fields=["status", "sent_at", "remote_id", "last_error", "claimed_at"])
    Report.objects.filter(pk=delivery.report_id, sent_at__isnull=True).update(
        sent_at=delivery.sent_at
    )
    return delivery
