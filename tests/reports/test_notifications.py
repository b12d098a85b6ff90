"""E-mail to citizens goes through the outbox: confirmation links, alerts, digests, unsubscribe."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from reports import notifications, services
from reports.models import (
    Frequency,
    Notification,
    NotificationStatus,
    Report,
    ReportState,
    Subscription,
    SubscriptionKind,
)
from tests import factories


def _link(body: str) -> str:
    match = re.search(r"https?://\S+", body)
    assert match, body
    return match.group(0).split("testserver")[-1].replace("http://127.0.0.1:8000", "")


def test_an_anonymous_report_gets_a_confirmation_link_that_makes_it_public(
    tiny_city, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = factories.report(
            tiny_city.pothole,
            *tiny_city.WEST,
            reporter_name="Ana",
            reporter_email="ana@example.org",
        )

    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ana@example.org"]
    link = _link(mailoutbox[0].body)
    response = client.get(link)

    assert response.status_code == 200
    assert Report.objects.get(pk=report.pk).state == ReportState.OPEN
    assert Notification.objects.get(kind="report_confirm").status == NotificationStatus.SENT


def test_a_tampered_or_expired_confirmation_link_is_refused(tiny_city, client, settings):
    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ana@example.org"
    )
    token = notifications.report_confirm_token(report)

    assert client.get(f"/reports/confirm/{token}x/").status_code == 404
    settings.FIXPOINT_UNCONFIRMED_TTL_HOURS = -1
    assert client.get(f"/reports/confirm/{token}/").status_code == 410
    assert Report.objects.get(pk=report.pk).state == ReportState.UNCONFIRMED


def test_subscribers_hear_about_public_changes_but_not_their_own(
    tiny_city, mailoutbox, django_capture_on_commit_callbacks
):
    reporter = factories.UserFactory.create(email="rep@example.org")
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)
    follower = notifications.subscription_create(
        email="fan@example.org", kind=SubscriptionKind.REPORT, report=report
    )
    notifications.subscription_confirm(subscription_id=follower.pk)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk,
            to_state=ReportState.VERIFIED,
            actor=tiny_city.west_staff,
            public_note="Crew booked",
            internal_note="secret crew name",
        )

    assert sorted(m.to[0] for m in mailoutbox) == ["fan@example.org", "rep@example.org"]
    body = mailoutbox[0].body
    assert "Crew booked" in body and "secret crew name" not in body
    assert mailoutbox[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_update_add(report_id=report.pk, author=reporter, text="Thanks!")
    assert [m.to[0] for m in mailoutbox] == ["fan@example.org"]


def _verify_then_start(city, report, mailoutbox, capture) -> None:
    with capture(execute=True):
        services.report_transition(
            report_id=report.pk,
            to_state=ReportState.VERIFIED,
            actor=city.west_staff,
            public_note="Crew booked",
        )
    with capture(execute=True):
        services.report_transition(
            report_id=report.pk,
            to_state=ReportState.IN_PROGRESS,
            actor=city.west_staff,
            public_note="Crew on site",
        )


def test_changes_within_the_batch_window_reach_the_reporter_as_one_email_when_it_ends(
    tiny_city, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.FIXPOINT_UPDATE_BATCH_MINUTES = 5
    reporter = factories.UserFactory.create(email="rep@example.org")
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)
    mailoutbox.clear()

    _verify_then_start(tiny_city, report, mailoutbox, django_capture_on_commit_callbacks)
    assert mailoutbox == []  # the task found both changes not yet due
    assert notifications.notifications_send_due(now=timezone.now() + timedelta(minutes=1)) == 0

    notifications.notifications_send_due(now=timezone.now() + timedelta(minutes=6))
    notifications.notifications_send_due(now=timezone.now() + timedelta(minutes=12))

    [email] = mailoutbox
    assert email.to == ["rep@example.org"] and "(2 changes)" in email.subject
    assert email.body.index("Crew booked") < email.body.index("Crew on site")
    assert email.body.count("Stop these e-mails") == 1
    statuses = Notification.objects.filter(kind="report_update").values_list("status", flat=True)
    assert sorted(statuses) == [NotificationStatus.DIGESTED, NotificationStatus.SENT]


def test_a_change_after_the_batch_went_out_starts_a_new_email(
    tiny_city, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.FIXPOINT_UPDATE_BATCH_MINUTES = 5
    reporter = factories.UserFactory.create(email="rep@example.org")
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)
    _verify_then_start(tiny_city, report, mailoutbox, django_capture_on_commit_callbacks)
    notifications.notifications_send_due(now=timezone.now() + timedelta(minutes=6))
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk,
            to_state=ReportState.FIXED,
            actor=tiny_city.west_staff,
            public_note="Filled",
        )
    notifications.notifications_send_due(now=timezone.now() + timedelta(minutes=6))

    [email] = mailoutbox
    assert "Filled" in email.body and "Crew booked" not in email.body
    assert "changes)" not in email.subject


def test_without_a_batch_window_each_change_is_emailed_at_once(
    tiny_city, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.FIXPOINT_UPDATE_BATCH_MINUTES = 0
    reporter = factories.UserFactory.create(email="rep@example.org")
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)
    mailoutbox.clear()

    _verify_then_start(tiny_city, report, mailoutbox, django_capture_on_commit_callbacks)

    assert [m.subject.startswith("Update on your report") for m in mailoutbox] == [True, True]


def test_another_persons_address_must_confirm_before_any_alert(
    tiny_city, mailoutbox, django_capture_on_commit_callbacks
):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    with django_capture_on_commit_callbacks(execute=True):
        sub = notifications.subscription_create(
            email="x@example.org", kind=SubscriptionKind.REPORT, report=report
        )
    assert not sub.is_confirmed
    assert mailoutbox[-1].subject == "Confirm your e-mail alert"
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk, to_state=ReportState.VERIFIED, actor=tiny_city.west_staff
        )

    assert "x@example.org" not in [m.to[0] for m in mailoutbox]


def test_one_click_unsubscribe_stops_alerts_and_can_be_undone(
    tiny_city, client, mailoutbox, django_capture_on_commit_callbacks
):
    user = factories.UserFactory.create(email="me@example.org")
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    sub = notifications.subscription_create(
        email="me@example.org", user=user, kind=SubscriptionKind.REPORT, report=report
    )
    assert sub.is_confirmed
    token = notifications.alert_token(sub, "unsubscribe")

    response = client.get(f"/alerts/unsubscribe/{token}/")
    assert "You are unsubscribed" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk, to_state=ReportState.VERIFIED, actor=tiny_city.west_staff
        )
    assert "me@example.org" not in [m.to[0] for m in mailoutbox]

    client.post(f"/alerts/unsubscribe/{token}/", {"resubscribe": "1"})
    assert Subscription.objects.get(pk=sub.pk).is_active
    assert client.get("/alerts/unsubscribe/not-a-token/").status_code == 404


def test_area_and_radius_alerts_fire_for_new_public_reports_only_nearby(
    tiny_city, mailoutbox, django_capture_on_commit_callbacks
):
    user = factories.UserFactory.create(email="near@example.org")
    notifications.subscription_create(
        email="near@example.org",
        user=user,
        kind=SubscriptionKind.RADIUS,
        latitude=10.05,
        longitude=1.05,
        radius_m=300,
    )
    notifications.subscription_create(
        email="near@example.org",
        user=user,
        kind=SubscriptionKind.AUTHORITY,
        authority=tiny_city.east,
    )

    with django_capture_on_commit_callbacks(execute=True):
        factories.report(tiny_city.pothole, 10.051, 1.051, title="Near hole")  # ~150 m away
        factories.report(tiny_city.pothole, 10.09, 1.09, title="Far hole")  # ~6 km away
        factories.report(tiny_city.pothole, *tiny_city.EAST, title="East hole")
        factories.report(
            tiny_city.pothole,
            *tiny_city.WEST,
            title="Secret",
            reporter_name="Ana",
            reporter_email="ana@example.org",
        )

    subjects = sorted(m.subject for m in mailoutbox if m.to == ["near@example.org"])
    assert subjects == ["New report near you: East hole", "New report near you: Near hole"]


def test_daily_digest_alerts_are_held_then_sent_as_one_email(
    tiny_city, mailoutbox, django_capture_on_commit_callbacks
):
    user = factories.UserFactory.create(email="daily@example.org")
    notifications.subscription_create(
        email="daily@example.org",
        user=user,
        kind=SubscriptionKind.AUTHORITY,
        authority=tiny_city.west,
        frequency=Frequency.DAILY,
    )
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            factories.report(tiny_city.pothole, *tiny_city.WEST, title=f"Hole {n}")
    assert not [m for m in mailoutbox if m.to == ["daily@example.org"]]

    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.digests_compose() == 1

    digests = [m for m in mailoutbox if m.to == ["daily@example.org"]]
    assert len(digests) == 1 and digests[0].subject == "3 new reports near you"
    assert all(f"Hole {n}" in digests[0].body for n in range(3))
    assert "/alerts/unsubscribe/" in digests[0].body


def test_a_mail_server_failure_keeps_the_email_for_the_redrive(tiny_city, monkeypatch, mailoutbox):
    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ana@example.org"
    )
    notification = Notification.objects.get(kind="report_confirm")

    def down(*args: object, **kwargs: object) -> None:
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", down)
    assert notifications.notification_send(notification_id=notification.pk) is False
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING and notification.attempts == 1
    assert "connection lost" in notification.last_error

    monkeypatch.undo()

    sent = notifications.notifications_send_due(now=timezone.now() + timedelta(hours=1))
    assert sent == 1 and len(mail.outbox) == 1
    assert report.reporter_email in mail.outbox[0].to


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "radius", "latitude": 10.0, "longitude": 1.0, "radius_m": 10}, "radius_m"),
        ({"kind": "area"}, "kind"),
        ({"kind": "nonsense"}, "kind"),
    ],
)
def test_bad_alert_requests_are_refused_clearly(db, kwargs, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        notifications.subscription_create(email="a@example.org", **kwargs)
    assert field in excinfo.value.message_dict
