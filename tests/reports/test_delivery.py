"""Open reports reach their authority through the Delivery outbox; e-mail against a real SMTP
server (aiosmtpd on 127.0.0.1), with its faults: down, 4xx, 5xx, a worker dying mid-send."""

from __future__ import annotations

from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from authorities.models import CategoryQuestion
from reports import delivery, services
from reports.exceptions import NotAllowed
from reports.models import Delivery, DeliveryStatus, Report, ReportState
from tests import factories

COUNCIL = "west@council.example.org"  # the West district's address for potholes (tiny_city)


def file_report(city: Any, **fields: Any) -> Report:
    fields.setdefault("reporter", factories.UserFactory.create(display_name="Marta Puig"))
    return factories.report(city.pothole, *city.WEST, **fields)


def parts(message: Message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in message.walk()
        if not part.is_multipart()
    }


def test_a_signed_in_citizens_report_is_e_mailed_to_the_authority_once_with_what_staff_need(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    CategoryQuestion.objects.create(category=tiny_city.pothole, code="depth", label="How deep?")
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city, extra={"depth": "10 cm"}, title="Deep hole")

    [message] = smtp.to_council()
    sent = Delivery.objects.get(report=report)
    text, html = parts(message)["text/plain"], parts(message)["text/html"]
    assert message["To"] == COUNCIL and report.ref in message["Subject"]
    assert message["Reply-To"] == f"noreply+{report.ref.lower()}@fixpoint.example.org"
    assert (
        message["Message-ID"]
        == sent.remote_id
        == f"<fixpoint-delivery-{sent.pk}@fixpoint.example.org>"
    )
    for fact in (report.ref, "Pothole", "How deep?: 10 cm", "A deep one.", "10.05, 1.05"):
        assert fact in text
    assert "openstreetmap.org/?mlat=10.05&mlon=1.05" in text and report.get_absolute_url() in text
    assert "Marta Puig" in text and report.reporter.email in text
    assert "<h1" in html and "Deep hole" in html and "How deep?" in html
    assert sent.status == DeliveryStatus.SENT and sent.attempts == 1
    assert Report.objects.get(pk=report.pk).sent_at == sent.sent_at is not None


def test_the_delivery_is_written_with_the_open_report_and_sent_only_after_commit(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = file_report(tiny_city)

    assert Delivery.objects.get(report=report).status == DeliveryStatus.PENDING
    assert smtp.to_council() == [] and callbacks


def test_an_anonymous_report_is_delivered_once_it_is_confirmed_and_not_again_when_reopened(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = factories.report(
            tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ana@ex.org"
        )
    assert not Delivery.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.report_confirm(report_id=report.pk)
        services.report_transition(
            report_id=report.pk, to_state=ReportState.CLOSED, actor=tiny_city.west_staff
        )
        services.report_transition(
            report_id=report.pk, to_state=ReportState.OPEN, actor=tiny_city.west_staff
        )

    assert Delivery.objects.filter(report=report).count() == 1
    [message] = smtp.to_council()
    assert "ana@ex.org" in parts(message)["text/plain"]


def test_the_reporters_contact_is_left_out_when_the_deployment_hides_it(
    tiny_city, smtp, settings, django_capture_on_commit_callbacks
):
    settings.FIXPOINT_DELIVERY_REPORTER_CONTACT = False
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    [message] = smtp.to_council()
    assert report.reporter.email not in message.as_string()


def test_with_smtp_down_the_report_is_still_filed_and_the_redrive_delivers_it_once_when_back(
    tiny_city, smtp, client, django_capture_on_commit_callbacks
):
    smtp.stop()
    client.force_login(factories.UserFactory.create())
    form = {"latitude": 10.05, "longitude": 1.05, "category": "pothole", "title": "Hole"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/reports/new/", {**form, "description": "Deep"})

    report = Report.objects.get()
    assert response.status_code == 302 and response.url == report.get_absolute_url()
    waiting = Delivery.objects.get(report=report)
    assert waiting.status == DeliveryStatus.PENDING and "SMTP unavailable" in waiting.last_error
    assert waiting.next_attempt_at > timezone.now()

    smtp.start()
    assert delivery.deliveries_send_due().sent == 0  # not due yet: the backoff holds
    call_command("send_pending", "--now", stdout=None)
    call_command("send_pending", "--now", stdout=None)

    assert len(smtp.to_council()) == 1
    assert Delivery.objects.get(pk=waiting.pk).status == DeliveryStatus.SENT
    assert Report.objects.get(pk=report.pk).sent_at is not None


def test_an_smtp_4xx_is_retried_after_a_backoff_and_then_delivered_once(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    smtp.handler.rcpt_replies.append("451 4.3.0 Mailbox busy, try later")
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    waiting = Delivery.objects.get(report=report)
    assert waiting.status == DeliveryStatus.PENDING and "451" in waiting.last_error
    wait = waiting.next_attempt_at - before
    assert timedelta(seconds=29) < wait < timedelta(seconds=62)  # 1 minute, half of it jitter

    summary = delivery.deliveries_send_due(now=waiting.next_attempt_at)

    assert summary.sent == 1 and len(smtp.to_council()) == 1
    assert Delivery.objects.get(pk=waiting.pk).attempts == 2


def test_a_refused_address_fails_permanently_with_the_reason_and_is_not_retried(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    smtp.handler.rcpt_replies.append("550 5.1.1 No such user here")
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    failed = Delivery.objects.get(report=report)
    assert failed.status == DeliveryStatus.FAILED
    assert "550" in failed.last_error and "No such user here" in failed.last_error
    assert delivery.deliveries_send_due(ignore_backoff=True).sent == 0
    assert smtp.to_council() == [] and Report.objects.get(pk=report.pk).sent_at is None


def test_a_temporary_failure_gives_up_after_the_configured_number_of_attempts(
    tiny_city, smtp, settings, django_capture_on_commit_callbacks
):
    settings.FIXPOINT_DELIVERY_MAX_ATTEMPTS = 2
    smtp.stop()
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)
    delivery.deliveries_send_due(ignore_backoff=True)

    failed = Delivery.objects.get(report=report)
    assert failed.status == DeliveryStatus.FAILED and failed.attempts == 2
    assert failed.last_error.startswith("Gave up after 2 attempts.")


def test_backoff_doubles_with_each_attempt_has_jitter_and_stops_growing_at_six_hours():
    for attempts, minutes in ((1, 1), (2, 2), (3, 4), (6, 32), (20, 360)):
        delays = {delivery.retry_delay(attempts) for _ in range(20)}
        full = timedelta(minutes=minutes)
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1


def test_a_delivery_stuck_in_sending_after_a_worker_died_is_sent_once_by_the_redrive(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        report = file_report(tiny_city)
    stuck = Delivery.objects.get(report=report)
    # The worker claimed the row and died before recording anything.
    Delivery.objects.filter(pk=stuck.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, claimed_at=timezone.now() - timedelta(hours=1)
    )

    summary = delivery.deliveries_send_due()
    again = delivery.deliveries_send_due(ignore_backoff=True)

    assert (summary.recovered, summary.sent, again.sent) == (1, 1, 0)
    [message] = smtp.to_council()
    assert message["Message-ID"] == f"<fixpoint-delivery-{stuck.pk}@fixpoint.example.org>"
    assert Delivery.objects.get(pk=stuck.pk).status == DeliveryStatus.SENT


def test_a_delivery_being_sent_right_now_is_left_to_its_worker(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        report = file_report(tiny_city)
    Delivery.objects.filter(report=report).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now() - timedelta(minutes=1)
    )

    summary = delivery.deliveries_send_due(ignore_backoff=True)

    assert (summary.recovered, summary.sent) == (0, 0) and smtp.to_council() == []
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENDING


def test_a_second_task_for_the_same_delivery_sends_nothing(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)
    sent = Delivery.objects.get(report=report)

    assert delivery.delivery_send(delivery_id=sent.pk) == DeliveryStatus.SENT
    assert len(smtp.to_council()) == 1 and Delivery.objects.get(pk=sent.pk).attempts == 1


def test_an_admin_resends_a_failed_delivery_after_fixing_the_address(
    tiny_city, smtp, admin_client, django_capture_on_commit_callbacks
):
    smtp.handler.rcpt_replies.append("550 5.1.1 No such user here")
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)
    failed = Delivery.objects.get(report=report)
    failed.destination.email = "potholes@west.example.org"
    failed.destination.save()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/reports/delivery/",
            {"action": "resend", "_selected_action": [failed.pk]},
        )

    [message] = smtp.to_council()
    assert message["To"] == "potholes@west.example.org"
    assert Delivery.objects.get(pk=failed.pk).status == DeliveryStatus.SENT


def test_an_admin_cannot_resend_a_delivery_that_was_sent(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    with pytest.raises(NotAllowed):
        delivery.delivery_resend(delivery_id=Delivery.objects.get(report=report).pk)


def test_an_admin_marks_a_failed_delivery_as_sent_and_the_report_is_stamped(
    tiny_city, smtp, admin_client, django_capture_on_commit_callbacks
):
    smtp.handler.rcpt_replies.append("550 5.1.1 No such user here")
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)
    failed = Delivery.objects.get(report=report)

    admin_client.post(
        "/admin/reports/delivery/", {"action": "mark_as_sent", "_selected_action": [failed.pk]}
    )

    marked = Delivery.objects.get(pk=failed.pk)
    assert marked.status == DeliveryStatus.SENT and "Marked as sent by hand" in marked.last_error
    assert Report.objects.get(pk=report.pk).sent_at == marked.sent_at


def test_the_report_admin_page_shows_its_deliveries_with_the_reason_for_a_failure(
    tiny_city, smtp, admin_client, django_capture_on_commit_callbacks
):
    smtp.handler.rcpt_replies.append("550 5.1.1 No such user here")
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    html = admin_client.get(f"/admin/reports/report/{report.pk}/change/").content.decode()

    assert "Deliveries to authorities" in html and "No such user here" in html
    assert admin_client.get("/admin/reports/delivery/").status_code == 200
