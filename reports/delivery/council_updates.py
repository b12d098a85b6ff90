"""Citizens' updates that reach the council: a comment, "still a problem", a reopening with its
reason, and the "me too" count when it reaches one of FIXPOINT_UPDATE_SUPPORT_THRESHOLDS.

The same outbox as the reports' own delivery (reports.delivery.outbox): an UpdateDelivery row is
written in the transaction of the update (a listener of reports.signals, called from
reports.apps), sent after the commit by a worker (reports.tasks.deliver_update) through the
channel of the report's destination (channels.UPDATE_CHANNELS: an e-mail threaded under the
report's, mySociety's Open311 servicerequestupdates, or a signed "report.update" webhook),
retried with the same backoff and limits, and re-driven by beat when stuck or due. Sent only
where staff switched updates on for the authority's category (AuthorityCategory.send_updates;
for Open311 also open311_updates), and only after the report itself reached the authority.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from authorities.models import AuthorityCategory, DeliveryMethod
from authorities.permissions import is_staff_of
from config.aftercommit import after_commit
from reports import jobs
from reports.models import (
    Delivery,
    DeliveryStatus,
    Opinion,
    Report,
    ReportState,
    ReportStateChange,
    ReportUpdate,
    UpdateDelivery,
    UpdateEvent,
)

from . import channels
from .outbox import RedriveSummary, attempt, claim, rearm, recover_stuck

# --- Writing the outbox (inside the transaction of the update) ----------------------------------


def update_delivery_create(
    *,
    report: Report,
    event: str,
    update: ReportUpdate | None = None,
    state_change: ReportStateChange | None = None,
    support_count: int | None = None,
) -> UpdateDelivery | None:
    """Write an update's row for the report's authority, if its category sends updates there
    and the report has gone (or is going) to it. None when nothing is to be sent."""
    destination = _updates_destination(report)
    if destination is None or not report.is_shown or not _delivered_or_due(report):
        return None
    row = UpdateDelivery.objects.create(
        report=report,
        authority_id=report.authority_id,
        category_id=report.category_id,
        destination=destination,
        method=destination.delivery_method,
        event=event,
        update=update,
        state_change=state_change,
        support_count=support_count,
    )
    after_commit(jobs.update_delivery_queue, row.pk)
    return row


def _updates_destination(report: Report) -> AuthorityCategory | None:
    destination = AuthorityCategory.objects.filter(
        authority_id=report.authority_id, category_id=report.category_id, send_updates=True
    ).first()
    if destination is None:
        return None
    if destination.delivery_method == DeliveryMethod.OPEN311 and not destination.open311_updates:
        return None  # the council's server cannot take them: nothing to send
    return destination


def _delivered_or_due(report: Report) -> bool:
    """The report has a delivery to this authority, or a worker is about to write it."""
    return report.follow_up_due or (
        Delivery.objects.filter(
            report=report, authority_id=report.authority_id, category_id=report.category_id
        ).exists()
    )


def on_update_added(update: ReportUpdate) -> None:
    """A citizen's update (receiver of report_update_added). An update that reopened the
    report goes with the reopening written a moment before, not as a second message."""
    report = update.report
    if update.author is not None and is_staff_of(update.author, report.authority_id):
        return  # the authority's own people: it knows
    reopening = UpdateDelivery.objects.filter(
        report=report,
        event=UpdateEvent.REOPENED,
        update__isnull=True,
        status=DeliveryStatus.PENDING,
        state_change__public_note=update.text,
        state_change__created_at__gte=update.created_at,
    ).first()
    if reopening is not None:
        UpdateDelivery.objects.filter(pk=reopening.pk).update(update=update)
        return
    event = (
        UpdateEvent.STILL_A_PROBLEM
        if update.opinion == Opinion.STILL_A_PROBLEM
        else UpdateEvent.COMMENT
    )
    update_delivery_create(report=report, event=event, update=update)


def on_state_changed(report: Report, change: ReportStateChange) -> None:
    """The reporter reopens a fixed report (receiver of report_state_changed): its reason goes
    to the authority."""
    if (
        change.actor_kind == "reporter"
        and change.from_state == ReportState.FIXED
        and change.to_state == ReportState.OPEN
    ):
        update_delivery_create(report=report, event=UpdateEvent.REOPENED, state_change=change)


def on_supported(report: Report, count: int) -> None:
    """A "me too" (receiver of report_supported, the report's row locked): the count goes to
    the authority when it reaches a threshold, once per threshold."""
    if count not in settings.FIXPOINT_UPDATE_SUPPORT_THRESHOLDS:
        return
    told = UpdateDelivery.objects.filter(
        report=report, event=UpdateEvent.SUPPORT, support_count__gte=count
    )
    if not told.exists():  # a support withdrawn and given again must not repeat it
        update_delivery_create(report=report, event=UpdateEvent.SUPPORT, support_count=count)


# --- Sending -------------------------------------------------------------------------------------


def update_delivery_send(
    *, update_delivery_id: int, ignore_backoff: bool = False, now: datetime | None = None
) -> str:
    """Send one update if it is pending (and due). Returns its status afterwards."""
    if not claim(
        UpdateDelivery, update_delivery_id, now=now or timezone.now(), ignore_backoff=ignore_backoff
    ):
        found = UpdateDelivery.objects.filter(pk=update_delivery_id)
        return found.values_list("status", flat=True).first() or ""
    row = UpdateDelivery.objects.select_related(
        "report__category",
        "report__authority",
        "report__reporter",
        "destination",
        "update__author",
        "state_change",
    ).get(pk=update_delivery_id)
    return attempt(row, lambda: channels.send_update(row))


def update_deliveries_send_due(
    *, ignore_backoff: bool = False, now: datetime | None = None, limit: int = 500
) -> RedriveSummary:
    """The re-drive's pass over updates: recover rows stuck in "sending", send what is due."""
    now = now or timezone.now()
    summary = RedriveSummary(recovered=recover_stuck(UpdateDelivery, now))
    due = UpdateDelivery.objects.filter(status=DeliveryStatus.PENDING)
    if not ignore_backoff:
        due = due.filter(next_attempt_at__lte=now)
    for pk in list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]):
        status = update_delivery_send(update_delivery_id=pk, ignore_backoff=ignore_backoff, now=now)
        summary.sent += status == DeliveryStatus.SENT
        summary.retrying += status == DeliveryStatus.PENDING
        summary.failed += status == DeliveryStatus.FAILED
    return summary


@transaction.atomic
def update_delivery_resend(*, update_delivery_id: int) -> UpdateDelivery:
    """Send a failed (or waiting) update again now, e.g. after the destination was mended."""
    row = UpdateDelivery.objects.select_for_update().get(pk=update_delivery_id)
    refusal = _("Update %(id)s is “%(status)s”: it cannot be resent.")
    rearm(row, refusal % {"id": row.pk, "status": row.get_status_display()})
    after_commit(jobs.update_delivery_queue, row.pk)
    return row
