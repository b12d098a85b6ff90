"""A duplicate's followers join the original: its supporters, its reporter (as a supporter) and
its e-mail followers, so they hear of the work done on the original. Called by report_transition
whenever a report becomes a duplicate, whoever makes it so (the staff pages, the admin, the API).
"""

from __future__ import annotations

from .models import Report, Subscription, SubscriptionKind, Support


def followers_merge(*, duplicate: Report, original: Report) -> None:
    _merge_supporters(duplicate, original)
    _merge_subscribers(duplicate, original)


def _merge_supporters(duplicate: Report, original: Report) -> None:
    users: set[int | None] = set(
        Support.objects.filter(report=original).values_list("user_id", flat=True)
    )
    emails = set(Support.objects.filter(report=original).values_list("email", flat=True))
    users.add(original.reporter_id)  # the original's reporter does not support their own report
    for support in Support.objects.filter(report=duplicate):
        if (support.user_id and support.user_id in users) or (
            support.email and support.email in emails
        ):
            continue
        Support.objects.create(report=original, user=support.user, email=support.email)
        users.add(support.user_id)
        emails.add(support.email)
    if duplicate.reporter_id and duplicate.reporter_id not in users:
        Support.objects.create(report=original, user_id=duplicate.reporter_id)
    elif duplicate.reporter_id is None and duplicate.reporter_email not in emails | {""}:
        Support.objects.create(report=original, email=duplicate.reporter_email)


def _merge_subscribers(duplicate: Report, original: Report) -> None:
    followers = Subscription.objects.filter(report=original, kind=SubscriptionKind.REPORT)
    known = set(followers.values_list("email", flat=True))
    moved = Subscription.objects.filter(
        report=duplicate, kind=SubscriptionKind.REPORT, unsubscribed_at__isnull=True
    )
    for sub in moved:
        if sub.email in known:
            continue
        Subscription.objects.create(
            email=sub.email,
            user=sub.user,
            kind=SubscriptionKind.REPORT,
            report=original,
            frequency=sub.frequency,
            is_confirmed=sub.is_confirmed,
        )
        known.add(sub.email)
