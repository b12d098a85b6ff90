"""E-mail to citizens: confirmation links, alerts and report updates, through an outbox.

Every e-mail is a Notification row written in the transaction that caused it. After commit a
Celery task sends it; `send_due_notifications` (Celery beat, every minute) sends whatever is still
pending, so a lost task or a mail server that was down delays an e-mail but never loses it. Daily
digest alerts are held and folded into one e-mail per address by `compose_daily_digests`.
"""

from __future__ import annotations

import functools
import logging
import smtplib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from authorities.geometry import distance_m
from authorities.models import Area, Authority
from config.aftercommit import after_commit
from config.baseurl import base_url
from config.compiled import (
    CompiledForIds,
    CompiledQuery,
    field_names,
    instance,
    padded,
    padded_size,
)
from config.text import header_safe

from . import jobs
from .delivery.email import PlainEmail, checked
from .delivery.failures import DeliveryFailure, built, smtp_failure
from .exceptions import NotAllowed
from .models import (
    Frequency,
    Notification,
    NotificationStatus,
    Report,
    ReportState,
    ReportStateChange,
    ReportUpdate,
    Subscription,
    SubscriptionKind,
)

logger = logging.getLogger(__name__)

CONFIRM_SALT = "fixpoint.report-confirm"
ALERT_SALT = "fixpoint.alert"
MAX_ATTEMPTS = 8
# A change to a report a subscriber follows. Its body is only what changed: changes that wait in
# the batching window together go out as one e-mail, composed when it is sent.
UPDATE_KIND = "report_update"
# allauth's e-mails (confirm an address, reset a password): their links sign a person in, so the
# body is dropped from the row once it is sent.
ACCOUNT_KIND = "account"


# --- Signed links --------------------------------------------------------------------------------


def report_confirm_token(report: Report) -> str:
    return signing.dumps({"r": report.pk}, salt=CONFIRM_SALT)


def report_id_from_confirm_token(token: str) -> int:
    """Raises signing.BadSignature (or its SignatureExpired) for a bad or stale link."""
    max_age = timedelta(hours=settings.FIXPOINT_UNCONFIRMED_TTL_HOURS)
    return int(signing.loads(token, salt=CONFIRM_SALT, max_age=max_age)["r"])


def alert_token(subscription: Subscription, action: str) -> str:
    return signing.dumps({"s": subscription.pk, "a": action}, salt=ALERT_SALT)


def subscription_id_from_token(token: str, action: str) -> int:
    data = signing.loads(token, salt=ALERT_SALT)
    if data.get("a") != action:
        raise signing.BadSignature("wrong action")
    return int(data["s"])


def absolute(path: str) -> str:
    return f"{base_url()}{path}"


# --- Subscriptions ------------------------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *,
    email: str,
    kind: str,
    user: User | None = None,
    report: Report | None = None,
    area: Area | None = None,
    authority: Authority | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    radius_m: int | None = None,
    frequency: str = Frequency.IMMEDIATE,
) -> Subscription:
    """Subscribe an address. A signed-in person's own address is trusted at once; any other
    address must click a confirmation link first, so nobody can sign up someone else."""
    email = _clean_email(email)
    target = {"report": report, "area": area, "authority": authority}
    _check_target(kind, target, latitude, longitude, radius_m)
    existing = _active_twin(email, kind, target, latitude, longitude, radius_m)
    if existing is not None:
        return existing
    trusted = user is not None and user.email.lower() == email
    subscription = Subscription.objects.create(
        email=email,
        user=user if trusted else None,
        kind=kind,
        frequency=frequency,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
        is_confirmed=trusted,
        language=translation.get_language() or "",
        **target,
    )
    if not trusted:
        _enqueue_subscription_confirmation(subscription)
    return subscription


def subscription_confirm(*, subscription_id: int) -> Subscription:
    subscription = Subscription.objects.get(pk=subscription_id)
    if not subscription.is_confirmed:
        subscription.is_confirmed = True
        subscription.save(update_fields=["is_confirmed"])
    return subscription


def subscription_unsubscribe(*, subscription_id: int) -> Subscription:
    subscription = Subscription.objects.get(pk=subscription_id)
    if subscription.unsubscribed_at is None:
        subscription.unsubscribed_at = timezone.now()
        subscription.save(update_fields=["unsubscribed_at"])
    return subscription


def subscription_resubscribe(*, subscription_id: int) -> Subscription:
    subscription = Subscription.objects.get(pk=subscription_id)
    subscription.unsubscribed_at = None
    subscription.save(update_fields=["unsubscribed_at"])
    return subscription


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid e-mail address.")}) from None
    return email


def _check_target(
    kind: str, target: dict[str, Any], lat: float | None, lon: float | None, radius: int | None
) -> None:
    needed: dict[str, Any] = {
        SubscriptionKind.REPORT: target["report"],
        SubscriptionKind.AREA: target["area"],
        SubscriptionKind.AUTHORITY: target["authority"],
        SubscriptionKind.RADIUS: None if None in (lat, lon, radius) else True,
    }
    if kind not in needed:
        raise ValidationError({"kind": _("Choose what to be alerted about.")})
    if needed[kind] is None:
        raise ValidationError({"kind": _("Say which report or place the alert is for.")})
    if kind == SubscriptionKind.RADIUS and not 50 <= (radius or 0) <= 5000:
        raise ValidationError({"radius_m": _("Choose a distance between 50 m and 5 km.")})
    report = target["report"]
    if report is not None and not report.is_public:
        raise NotAllowed(_("This report is not public."))


def _active_twin(
    email: str,
    kind: str,
    target: dict[str, Any],
    lat: float | None,
    lon: float | None,
    radius: int | None,
) -> Subscription | None:
    return Subscription.objects.filter(
        email=email,
        kind=kind,
        unsubscribed_at__isnull=True,
        latitude=lat,
        longitude=lon,
        radius_m=radius,
        **target,
    ).first()


# --- What happens to reports -------------------------------------------------------------------


def send_report_confirmation(report: Report) -> Notification:
    """The link that makes an anonymous report public."""
    link = absolute(reverse("reports:confirm", args=[report_confirm_token(report)]))
    body = render_to_string(
        "emails/report_confirm.txt",
        {"report": report, "link": link, "hours": settings.FIXPOINT_UNCONFIRMED_TTL_HOURS},
    )
    return _enqueue(
        report.reporter_email, "report_confirm", _("Confirm your report"), body, report=report
    )


def send_report_received(report: Report) -> Notification:
    """A caller's report that staff entered: open at once, so no link to follow; it says what
    was filed and that its updates will come by e-mail (the caller is subscribed)."""
    body = render_to_string(
        "emails/report_received.txt",
        {"report": report, "link": absolute(report.get_absolute_url())},
    )
    return _enqueue(
        report.reporter_email,
        "report_received",
        _("We have your report: %(title)s") % {"title": report.title},
        body,
        report=report,
    )


def on_state_change(report: Report, change: ReportStateChange) -> None:
    """Receiver: ask a new reporter to confirm, and tell subscribers about public changes (a
    report that becomes public is followed up by reports.followups instead)."""
    if report.state in (ReportState.UNCONFIRMED, ReportState.SPAM):
        if change.from_state == "" and report.state == ReportState.UNCONFIRMED:
            send_report_confirmation(report)
        return
    _tell_report_subscribers(report, change=change, exclude=change.actor)


def on_update(update: ReportUpdate) -> None:
    _tell_report_subscribers(update.report, update=update, exclude=update.author)


def reports_opened(reports: list[Report], *, created: bool = False) -> None:
    """New public reports: subscribe each reporter unless subscribed (one insert for them all),
    and alert the areas: part of a report's follow-up (reports.followups), for one or a batch.
    ``created``: new in this transaction, so none has a subscription."""
    already = set()
    if not created:
        rows = _REPORT_SUBSCRIPTIONS.run([r.pk for r in reports])
        already = {(row["report_id"], row["email"]) for row in rows}
    # The reporter proved the address (account or confirmation link): no second opt-in.
    Subscription.objects.bulk_create(
        Subscription(
            email=email,
            user=r.reporter,
            kind="report",
            report=r,
            is_confirmed=True,
            language=translation.get_language() or "",
        )
        for r in reports
        if (email := _reporter_email(r)) and (r.pk, email) not in already
    )
    public = [r for r in reports if not r.is_private]  # a private report is news to nobody else
    subscribers = _area_subscribers(public)
    for report in reports:
        if report.entered_by_id is not None and report.reporter_email:
            send_report_received(report)
        if not report.is_private:
            _alert_areas(report, subscribers[report.pk])


def _report_subscriptions(*report_ids: int) -> QuerySet[Subscription, Any]:
    following = Subscription.objects.filter(kind=SubscriptionKind.REPORT)
    return following.filter(report_id__in=report_ids).values("report_id", "email")


# Who follows which reports: a worker's batch of follow-ups asks every time, so its SQL is
# compiled once (per padded number of reports).
_REPORT_SUBSCRIPTIONS = CompiledForIds(_report_subscriptions, primary=True)


def _reporter_email(report: Report) -> str:
    return report.reporter.email if report.reporter else report.reporter_email


def _tell_report_subscribers(
    report: Report,
    *,
    change: ReportStateChange | None = None,
    update: ReportUpdate | None = None,
    exclude: User | None = None,
) -> None:
    subscribers = Subscription.objects.filter(
        kind=SubscriptionKind.REPORT,
        report=report,
        is_confirmed=True,
        unsubscribed_at__isnull=True,
    ).select_related("report")
    if report.is_private:  # made private after others followed it: only its reporter hears
        subscribers = subscribers.filter(email__iexact=_reporter_email(report) or "-")
    for subscription in subscribers.select_related("user"):
        if exclude is not None and subscription.email == exclude.email.lower():
            continue
        with translation.override(subscriber_language(subscription)):
            _tell_subscriber(report, subscription, change, update)


def subscriber_language(subscription: Subscription) -> str:
    """What a subscriber reads: their account's chosen language (when the account was loaded
    with the subscription: no query per subscriber), else the one they subscribed in, else the
    site's."""
    user = subscription._state.fields_cache.get("user")
    chosen = getattr(user, "language", "") if user is not None else ""
    return chosen or subscription.language or settings.LANGUAGE_CODE


def _tell_subscriber(
    report: Report,
    subscription: Subscription,
    change: ReportStateChange | None,
    update: ReportUpdate | None,
) -> None:
    item = render_to_string("emails/_report_change.txt", {"change": change, "update": update})
    _enqueue(
        subscription.email,
        UPDATE_KIND,
        _("Update on your report: %(title)s") % {"title": report.title}
        if subscription.user_id == report.reporter_id and report.reporter_id
        else _("Update: %(title)s") % {"title": report.title},
        item.strip(),  # wrapped with the report and the unsubscribe link when sent
        report=report,
        subscription=subscription,
        delay=batch_window(),
    )


def batch_window() -> timedelta:
    """How long a report change waits for more changes to the same report, so that several
    changes made within a few minutes (verified, then in progress) reach a subscriber as one
    e-mail."""
    return timedelta(minutes=settings.FIXPOINT_UPDATE_BATCH_MINUTES)


def _alert_areas(report: Report, subscribers: list[Subscription]) -> None:
    for subscription in subscribers:
        # The alert names the place it is for: the report's own authority or area, loaded once.
        if subscription.authority_id == report.authority_id:
            subscription.authority = report.authority
        if report.area_id is not None and subscription.area_id == report.area_id:
            subscription.area = report.area
        with translation.override(subscriber_language(subscription)):
            _alert_one(report, subscription)


def _alert_one(report: Report, subscription: Subscription) -> None:
    body = _render_alert("emails/new_report.txt", subscription, {"report": report})
    held = subscription.frequency == Frequency.DAILY
    _enqueue(
        subscription.email,
        "new_report",
        _("New report near you: %(title)s") % {"title": report.title},
        body,
        report=report,
        subscription=subscription,
        held=held,
    )


RADIUS_BOX = 5000 / 111_000  # degrees of latitude in 5 km, the largest radius


def _area_subscribers(reports: list[Report]) -> dict[int, list[Subscription]]:
    """Each report's area alerts (by authority, area, or a radius around a point): for a batch,
    one query for them all, then each report's own picked out here as the query picks them for
    one report. A batch of a hundred followed up with a query each spent a third of its time
    there (docs/benchmarks.md)."""
    if not reports:
        return {}
    found = _area_candidates(reports)
    return {report.pk: [s for s in found if _alerts(s, report)] for report in reports}


def _alerts(subscription: Subscription, report: Report) -> bool:
    """Whether an active area subscription covers the report (the query's filter, and for a
    radius the exact distance within the query's box)."""
    if subscription.kind == SubscriptionKind.AUTHORITY:
        return subscription.authority_id == report.authority_id
    if subscription.kind == SubscriptionKind.AREA:
        return report.area_id is not None and subscription.area_id == report.area_id
    if subscription.kind != SubscriptionKind.RADIUS:
        return False
    lat, lon = subscription.latitude or 0.0, subscription.longitude or 0.0
    box = RADIUS_BOX
    return (
        report.latitude - box <= lat <= report.latitude + box
        and report.longitude - box * 2 <= lon <= report.longitude + box * 2
        and distance_m(report.latitude, report.longitude, lat, lon) <= (subscription.radius_m or 0)
    )


def _area_candidates(reports: list[Report]) -> list[Subscription]:
    """The active area subscriptions that may cover any of the reports: by their authorities,
    their areas, or a radius centred in the box around them all (a prefilter in SQL)."""
    box = RADIUS_BOX
    authorities = sorted({r.authority_id for r in reports})
    areas = sorted({r.area_id for r in reports if r.area_id is not None}) or [0]  # no area is 0
    lats = [r.latitude for r in reports]
    lons = [r.longitude for r in reports]
    query = _area_candidates_query(padded_size(len(authorities)), padded_size(len(areas)))
    rows = query.run(
        *padded(authorities),
        *padded(areas),
        min(lats) - box,
        max(lats) + box,
        min(lons) - box * 2,
        max(lons) + box * 2,
    )
    return [instance(Subscription, row) for row in rows]


# Every new public report asks this (usually to find nobody), alone or in a worker's batch, so
# its SQL is compiled once (config.compiled): building the ORM query cost more than running it
# (docs/benchmarks.md). Its IN lists are padded (config.compiled.padded): a process compiles a
# handful of shapes, not one per count of authorities and areas.
@functools.cache
def _area_candidates_query(authorities: int, areas: int) -> CompiledQuery:
    def build(*values: Any) -> QuerySet[Subscription, dict[str, Any]]:
        authority_ids, area_ids = values[:authorities], values[authorities:-4]
        south, north, west, east = values[-4:]
        places = (
            Q(kind=SubscriptionKind.AUTHORITY, authority_id__in=authority_ids)
            | Q(kind=SubscriptionKind.AREA, area_id__in=area_ids)
            | Q(kind=SubscriptionKind.RADIUS, latitude__range=(south, north))
            & Q(longitude__range=(west, east))
        )
        active = Subscription.objects.filter(
            places, is_confirmed=True, unsubscribed_at__isnull=True
        )
        return active.order_by("pk").values(*field_names(Subscription))

    # Samples: ids and coordinates no report has, each distinct.
    samples = [-9001 - n for n in range(authorities)] + [-8001 - n for n in range(areas)]
    return CompiledQuery(build, *samples, -9003.5, -9004.5, -9005.5, -9006.5)


def _render_alert(template: str, subscription: Subscription, context: dict[str, Any]) -> str:
    unsubscribe = absolute(
        reverse("reports:unsubscribe", args=[alert_token(subscription, "unsubscribe")])
    )
    return render_to_string(
        template,
        {
            **context,
            "subscription": subscription,
            "unsubscribe": unsubscribe,
            "base_url": base_url(),
        },
    )


def _enqueue_subscription_confirmation(subscription: Subscription) -> None:
    link = absolute(reverse("reports:alert-confirm", args=[alert_token(subscription, "confirm")]))
    body = render_to_string(
        "emails/alert_confirm.txt", {"subscription": subscription, "link": link}
    )
    _enqueue(
        subscription.email,
        "alert_confirm",
        _("Confirm your e-mail alert"),
        body,
        subscription=subscription,
    )


def _enqueue(
    to: str,
    kind: str,
    subject: str,
    body: str,
    *,
    report: Report | None = None,
    subscription: Subscription | None = None,
    held: bool = False,
    delay: timedelta = timedelta(0),
) -> Notification:
    unsubscribe = ""
    if subscription is not None and kind not in ("alert_confirm",):
        unsubscribe = absolute(
            reverse("reports:unsubscribe", args=[alert_token(subscription, "unsubscribe")])
        )
    notification = Notification.objects.create(
        to_email=to,
        kind=kind,
        language=translation.get_language() or "",
        subject=subject[:200],
        body=body,
        report=report,
        subscription=subscription,
        unsubscribe_url=unsubscribe,
        status=NotificationStatus.HELD if held else NotificationStatus.PENDING,
        send_after=timezone.now() + delay,
    )
    if not held:
        after_commit(jobs.notification_queue, notification.pk, delay)
    return notification


def email_enqueue(
    *, to: str, kind: str, subject: str, body: str, report: Report | None = None
) -> Notification:
    """A one-off e-mail to a citizen (a questionnaire, an account notice), through the outbox."""
    return _enqueue(to, kind, subject, body, report=report)


def reporter_email(report: Report) -> str:
    """Where the reporter is reached: their account's address, else the one they gave."""
    return _reporter_email(report)


def account_email_enqueue(*, to: str, subject: str, body: str) -> Notification:
    """An account e-mail rendered by allauth (reports.adapters), sent through the outbox."""
    return _enqueue(to, ACCOUNT_KIND, subject, body)


# --- Sending -------------------------------------------------------------------------------------


def notification_send(*, notification_id: int, now: datetime | None = None) -> bool:
    """Send one pending e-mail once it is due, with any report changes batched with it.
    Returns True when it went out (now or before)."""
    now = now or timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=NotificationStatus.PENDING)
            .first()
        )
        if notification is None:  # already sent, held, or being sent by another worker
            return Notification.objects.filter(
                pk=notification_id, status__in=(NotificationStatus.SENT, "digested")
            ).exists()
        if notification.send_after > now:  # waiting for its batch or its retry: sent later
            return False
        batch = _batch(notification)
        try:
            _deliver(notification, *_compose(notification, batch))
        except DeliveryFailure as exc:
            _failed(notification, exc.reason, permanent=exc.permanent)
            return False
        except Exception as exc:  # a bug delays an e-mail a few times, then fails it visibly
            logger.exception("E-mail %s failed unexpectedly", notification.pk)
            _failed(notification, f"Unexpected error: {type(exc).__name__}: {exc}", limit=3)
            return False
        _mark_sent(notification, batch, now)
        return True


def _batch(notification: Notification) -> list[Notification]:
    """The pending changes to the same report for the same subscriber, this one included.
    Rows another worker holds are skipped (it is sending them), never waited for."""
    if notification.kind != UPDATE_KIND or notification.subscription_id is None:
        return [notification]
    others = Notification.objects.select_for_update(skip_locked=True).filter(
        kind=UPDATE_KIND,
        subscription_id=notification.subscription_id,
        status=NotificationStatus.PENDING,
    )
    batch = [notification, *others.exclude(pk=notification.pk)]
    return sorted(batch, key=lambda n: (n.created_at, n.pk))


def _compose(notification: Notification, batch: list[Notification]) -> tuple[str, str]:
    if notification.kind != UPDATE_KIND or notification.subscription is None:
        return notification.subject, notification.body
    with translation.override(notification.language or settings.LANGUAGE_CODE):
        return _compose_batch(notification, batch)


def _compose_batch(notification: Notification, batch: list[Notification]) -> tuple[str, str]:
    subject = notification.subject
    if len(batch) > 1:
        subject = _("%(subject)s (%(count)s changes)") % {"subject": subject, "count": len(batch)}
    body = render_to_string(
        "emails/report_update.txt",
        {
            "report": notification.report,
            "items": [n.body for n in batch],
            "subscription": notification.subscription,
            "unsubscribe": notification.unsubscribe_url,
            "base_url": base_url(),
        },
    )
    return subject[:200], body


def _mark_sent(notification: Notification, batch: list[Notification], now: datetime) -> None:
    notification.status, notification.sent_at = NotificationStatus.SENT, now
    notification.attempts += 1
    if notification.kind == ACCOUNT_KIND:
        notification.body = "(Removed once sent: it held a link that signs a person in.)"
    notification.save(update_fields=["status", "sent_at", "attempts", "body"])
    folded = [n.pk for n in batch if n.pk != notification.pk]
    if folded:  # went out inside this e-mail
        Notification.objects.filter(pk__in=folded).update(
            status=NotificationStatus.DIGESTED, sent_at=now
        )


def notifications_send_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The re-drive: send pending e-mails whose time has come. Returns how many went out."""
    now = now or timezone.now()
    due = Notification.objects.filter(
        status=NotificationStatus.PENDING, send_after__lte=now
    ).order_by("send_after", "pk")
    pks = list(due.values_list("pk", flat=True)[:limit])
    return sum(notification_send(notification_id=pk, now=now) for pk in pks)


def digests_compose(*, now: datetime | None = None) -> int:
    """Fold each daily alert's held e-mails into one digest. Returns how many digests."""
    now = now or timezone.now()
    held = Notification.objects.filter(status=NotificationStatus.HELD).select_related(
        "report", "subscription"
    )
    by_alert: dict[int | None, list[Notification]] = {}
    for notification in held.order_by("created_at"):
        by_alert.setdefault(notification.subscription_id, []).append(notification)
    for items in by_alert.values():
        with transaction.atomic():
            _compose_digest(items[0].to_email, items, now)
    return len(by_alert)


def _compose_digest(email: str, items: list[Notification], now: datetime) -> None:
    ids = [n.pk for n in items]
    locked = Notification.objects.select_for_update().filter(pk__in=ids, status="held")
    if locked.count() != len(ids):  # another beat run got here first
        return
    reports = [n.report for n in items if n.report is not None and n.report.is_public]
    with translation.override(items[-1].language or settings.LANGUAGE_CODE):
        body = render_to_string(
            "emails/digest.txt",
            {"reports": reports, "items": items, "base_url": base_url()},
        )
        _enqueue(
            email,
            "digest",
            _("%(count)s new reports near you") % {"count": len(reports)},
            body,
            subscription=items[-1].subscription,
        )
    locked.update(status=NotificationStatus.DIGESTED, sent_at=now)


def _deliver(notification: Notification, subject: str, body: str) -> None:
    """Send it; a SMTP error is a DeliveryFailure (refused for good: permanent), and so
    is a message that cannot be built (permanent: building it again builds the same)."""
    headers = {}
    if notification.unsubscribe_url:
        # RFC 8058: mail clients show an unsubscribe button that works with one click.
        headers["List-Unsubscribe"] = f"<{notification.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = built(
        "e-mail",
        lambda: checked(
            PlainEmail(
                subject=header_safe(subject),
                body=body,
                to=[notification.to_email],
                headers=headers,
            )
        ),
    )
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise smtp_failure(exc) from exc


def _failed(
    notification: Notification, reason: str, *, permanent: bool = False, limit: int | None = None
) -> None:
    """A permanent failure stops at once; a temporary one is retried with backoff, up to
    MAX_ATTEMPTS (or `limit`, for an unexpected error)."""
    notification.attempts += 1
    notification.last_error = reason[:2000]
    if permanent or notification.attempts >= min(limit or MAX_ATTEMPTS, MAX_ATTEMPTS):
        notification.status = NotificationStatus.FAILED
    # Exponential backoff: 1, 2, 4 ... minutes, at most a day.
    delay = min(2 ** (notification.attempts - 1), 24 * 60)
    notification.send_after = timezone.now() + timedelta(minutes=delay)
    notification.save(update_fields=["attempts", "last_error", "status", "send_after"])
    logger.warning(
        "E-mail %s failed (attempt %s): %s", notification.pk, notification.attempts, reason
    )
