"""Citizens' updates reach the council by the channel of the report's category: an e-mail threaded
under the report's (the real SMTP server, aiosmtpd), mySociety's Open311 servicerequestupdates
and a signed webhook (live HTTP servers on 127.0.0.1 acting as the council), through the
UpdateDelivery outbox with its retries, and only where staff switched updates on."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from authorities.models import AuthorityCategory, DeliveryMethod, StaffRole
from reports import delivery, services
from reports.delivery import council_updates
from reports.models import (
    Delivery,
    DeliveryStatus,
    Opinion,
    Report,
    ReportState,
    UpdateDelivery,
    UpdateEvent,
)
from tests import factories

COUNCIL = "west@council.example.org"  # the West district's address for potholes (tiny_city)
SECRET = "updates-secret-shared-with-the-council"


# --- The council's side ---------------------------------------------------------------------------


class Receiver:
    """An HTTP council: answers queued (status, body) replies, else 200 with ``ok_body``."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.ok_body: Any = {"id": "remote-1"}
        self.url = ""

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.requests.append({"path": path, "headers": headers, "body": body})
        return self.replies.pop(0) if self.replies else (200, self.ok_body)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    remote = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status, answer = remote.handle(self.path, dict(self.headers.items()), body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    remote.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield remote
    server.shutdown()
    server.server_close()


def destination(city: Any, **fields: Any) -> None:
    AuthorityCategory.objects.filter(authority=city.west, category=city.pothole).update(**fields)


def file_report(city: Any, capture: Any) -> Report:
    reporter = factories.UserFactory.create(display_name="Marta Puig")
    with capture(execute=True):
        return factories.report(city.pothole, *city.WEST, reporter=reporter)


def comment(report: Report, capture: Any, text: str = "It is getting bigger.", **kw: Any) -> None:
    author = kw.pop("author", None) or factories.UserFactory.create(display_name="Jordi Vila")
    with capture(execute=True):
        services.report_update_add(report_id=report.pk, author=author, text=text, **kw)


def updates_to_council(smtp: Any) -> list[Message]:
    return [m for m in smtp.handler.messages if m["X-Fixpoint-Update"]]


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()  # type: ignore[union-attr]
    return ""


# --- E-mail ---------------------------------------------------------------------------------------


def test_a_comment_is_e_mailed_to_the_council_as_a_reply_to_the_reports_e_mail(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    [original] = smtp.to_council()

    comment(report, django_capture_on_commit_callbacks, text="It is getting bigger.")

    [message] = updates_to_council(smtp)
    sent = UpdateDelivery.objects.get(report=report)
    assert message["To"] == COUNCIL
    assert message["In-Reply-To"] == message["References"] == original["Message-ID"]
    assert original["Message-ID"] == Delivery.objects.get(report=report).remote_id
    assert message["Subject"].startswith(f"Re: [{report.ref}]")
    assert message["Message-ID"] == sent.remote_id != original["Message-ID"]
    body = text_of(message)
    assert "It is getting bigger." in body and "Jordi Vila" in body and report.ref in body
    assert (sent.event, sent.status, sent.attempts) == (UpdateEvent.COMMENT, "sent", 1)


def test_every_e_mail_is_written_once_though_checked_before_it_is_sent(
    tiny_city, smtp, django_capture_on_commit_callbacks, monkeypatch
):
    """Django wrote each e-mail twice: to check its headers, then again for the mail server."""
    written: list[str] = []
    write = EmailMessage.message

    def counted(message: EmailMessage) -> Any:
        written.append(message.extra_headers.get("Message-ID", message.subject))
        return write(message)

    monkeypatch.setattr(EmailMessage, "message", counted)
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    comment(report, django_capture_on_commit_callbacks, text="It is getting bigger.")

    assert smtp.to_council() and updates_to_council(smtp)  # the report, then the comment
    assert len(written) == len(set(written)) == len(smtp.handler.messages)


def test_a_category_with_updates_off_sends_nothing_for_comments_reopenings_or_support(
    tiny_city, smtp, django_capture_on_commit_callbacks, settings
):
    settings.FIXPOINT_UPDATE_SUPPORT_THRESHOLDS = [1]
    report = file_report(tiny_city, django_capture_on_commit_callbacks)  # send_updates is off

    comment(report, django_capture_on_commit_callbacks, opinion=Opinion.STILL_A_PROBLEM)
    with django_capture_on_commit_callbacks(execute=True):
        services.support_add(report_id=report.pk, email="fan@example.org")
        services.report_transition(
            report_id=report.pk, to_state=ReportState.FIXED, actor=tiny_city.west_staff
        )
        services.report_transition(
            report_id=report.pk, to_state=ReportState.OPEN, public_note="No.", by_reporter_link=True
        )

    assert not UpdateDelivery.objects.exists()
    assert updates_to_council(smtp) == [] and len(smtp.to_council()) == 1


def test_the_reporters_reopening_goes_once_with_its_reason(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk, to_state=ReportState.FIXED, actor=tiny_city.west_staff
        )

    comment(
        report,
        django_capture_on_commit_callbacks,
        author=report.reporter,
        text="They filled the wrong hole.",
        opinion=Opinion.STILL_A_PROBLEM,
    )

    [row] = UpdateDelivery.objects.filter(report=report)
    [message] = updates_to_council(smtp)
    assert row.event == UpdateEvent.REOPENED and row.update is not None
    assert Report.objects.get(pk=report.pk).state == ReportState.OPEN
    assert "They filled the wrong hole." in text_of(message) and "Marta Puig" in text_of(message)


def test_a_reopening_by_questionnaire_link_is_sent_with_its_reason(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk, to_state=ReportState.FIXED, actor=tiny_city.west_staff
        )
        services.report_transition(
            report_id=report.pk,
            to_state=ReportState.OPEN,
            public_note="Still a crater.",
            by_reporter_link=True,
        )

    [row] = UpdateDelivery.objects.filter(report=report)
    assert (row.event, row.status) == (UpdateEvent.REOPENED, DeliveryStatus.SENT)
    assert "Still a crater." in text_of(updates_to_council(smtp)[0])


def test_support_is_sent_when_it_reaches_each_threshold_once(
    tiny_city, smtp, django_capture_on_commit_callbacks, settings
):
    settings.FIXPOINT_UPDATE_SUPPORT_THRESHOLDS = [2, 3]
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)

    for n in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            services.support_add(report_id=report.pk, email=f"fan{n}@example.org")

    rows = UpdateDelivery.objects.filter(report=report).order_by("support_count")
    assert [(r.event, r.support_count) for r in rows] == [("support", 2), ("support", 3)]
    bodies = [text_of(m) for m in updates_to_council(smtp)]
    assert any("2 people have said they have this problem too." in b for b in bodies)
    assert any("3 people" in b for b in bodies)


def test_an_update_by_the_authoritys_own_staff_is_not_sent_back_to_it(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)

    comment(report, django_capture_on_commit_callbacks, author=tiny_city.west_staff)

    assert not UpdateDelivery.objects.exists()


def test_an_update_while_the_smtp_server_is_down_is_retried_and_sent_by_the_re_drive(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    smtp.stop()

    comment(report, django_capture_on_commit_callbacks)

    waiting = UpdateDelivery.objects.get(report=report)
    assert (waiting.status, waiting.attempts) == (DeliveryStatus.PENDING, 1)
    assert "SMTP unavailable" in waiting.last_error and waiting.next_attempt_at > timezone.now()
    smtp.start()
    summary = council_updates.update_deliveries_send_due(ignore_backoff=True)
    sent = UpdateDelivery.objects.get(pk=waiting.pk)
    assert summary.sent == 1 and (sent.status, sent.attempts) == (DeliveryStatus.SENT, 2)
    assert len(updates_to_council(smtp)) == 1


def test_an_update_waits_for_its_report_to_reach_the_council_first(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    destination(tiny_city, send_updates=True)
    smtp.stop()
    report = file_report(tiny_city, django_capture_on_commit_callbacks)  # its e-mail waits
    smtp.start()

    comment(report, django_capture_on_commit_callbacks)

    waiting = UpdateDelivery.objects.get(report=report)
    assert waiting.status == DeliveryStatus.PENDING and "not reached" in waiting.last_error
    assert updates_to_council(smtp) == []
    delivery.deliveries_send_due(ignore_backoff=True)
    council_updates.update_deliveries_send_due(ignore_backoff=True)
    [message] = updates_to_council(smtp)
    assert message["In-Reply-To"] == smtp.to_council()[0]["Message-ID"]


def test_an_update_left_sending_by_a_dead_worker_is_recovered_and_sent_once(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):  # the worker never runs
        services.report_update_add(
            report_id=report.pk, author=factories.UserFactory.create(), text="Worse."
        )
    UpdateDelivery.objects.update(
        status=DeliveryStatus.SENDING, attempts=1, claimed_at=timezone.now() - timedelta(hours=1)
    )

    summary = council_updates.update_deliveries_send_due()

    assert (summary.recovered, summary.sent) == (1, 1)
    assert len(updates_to_council(smtp)) == 1


def test_the_authoritys_staff_see_on_the_work_page_whether_each_update_reached_it(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    comment(report, django_capture_on_commit_callbacks, text="Sent fine.")
    smtp.stop()
    comment(report, django_capture_on_commit_callbacks, text="Waiting.")
    client = Client()
    client.force_login(tiny_city.west_staff)

    page = client.get(reverse("staff:report", args=[report.pk])).content.decode()

    sent, waiting = re.findall(r'<tr class="update-delivery">(.*?)</tr>', page, re.S)
    assert "West · E-mail · A comment" in sent and "Sent" in sent
    assert "Waiting to be sent" in waiting and "SMTP unavailable" in waiting


# --- Webhook --------------------------------------------------------------------------------------


def test_a_webhook_gets_a_signed_report_update_event_and_a_500_is_retried_with_the_same_key(
    tiny_city, receiver, django_capture_on_commit_callbacks
):
    destination(
        tiny_city,
        send_updates=True,
        delivery_method=DeliveryMethod.WEBHOOK,
        endpoint_url=f"{receiver.url}/hook",
    )
    link = AuthorityCategory.objects.get(authority=tiny_city.west, category=tiny_city.pothole)
    link.webhook_secret = SECRET
    link.save()
    receiver.ok_body = {"id": "CASE-9"}
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    receiver.replies.append((500, {"error": "down for a moment"}))

    comment(report, django_capture_on_commit_callbacks, text="Now two holes.")

    waiting = UpdateDelivery.objects.get(report=report)
    assert waiting.status == DeliveryStatus.PENDING and "HTTP 500" in waiting.last_error
    council_updates.update_deliveries_send_due(ignore_backoff=True)
    first, second = receiver.requests[1:]
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    headers, body = second["headers"], second["body"]
    expected = hmac.new(
        SECRET.encode(), headers["X-Fixpoint-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Fixpoint-Signature"] == f"sha256={expected}"
    assert headers["X-Fixpoint-Event"] == "report.update"
    event = json.loads(body)
    assert event["event"] == "report.update" and event["report"]["ref"] == report.ref
    assert event["report"]["remote_id"] == "CASE-9"
    assert event["update"]["text"] == "Now two holes." and event["update"]["event"] == "comment"
    assert UpdateDelivery.objects.get(pk=waiting.pk).status == DeliveryStatus.SENT


# --- Open311 --------------------------------------------------------------------------------------


def open311(city: Any, url: str, **fields: Any) -> None:
    destination(
        city,
        send_updates=True,
        delivery_method=DeliveryMethod.OPEN311,
        endpoint_url=f"{url}/open311/v2/",
        service_code="POTHOLE-01",
        jurisdiction_id="west.example.org",
        **fields,
    )


def test_open311_updates_use_servicerequestupdates_with_the_councils_request_id(
    tiny_city, receiver, django_capture_on_commit_callbacks
):
    open311(tiny_city, receiver.url, open311_updates=True)
    receiver.ok_body = [{"service_request_id": "SR-1"}]
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    receiver.ok_body = [{"update_id": "UPD-7"}]

    comment(report, django_capture_on_commit_callbacks, text="Cars swerve round it.")

    posted = receiver.requests[-1]
    params = dict(parse_qsl(posted["body"].decode()))
    row = UpdateDelivery.objects.get(report=report)
    assert posted["path"] == "/open311/v2/servicerequestupdates.json"
    assert params["service_request_id"] == "SR-1"
    assert params["update_id"] == str(row.pk) and "service_request_id_ext" not in params
    assert params["status"] == "OPEN" and params["jurisdiction_id"] == "west.example.org"
    assert params["description"].startswith("Cars swerve round it.")
    assert report.ref in params["description"] and params["first_name"] == "Jordi"
    assert params["public_anonymity_required"] == "TRUE" and params["updated_datetime"]
    assert (row.status, row.remote_id) == (DeliveryStatus.SENT, "UPD-7")


def test_an_open311_council_without_the_extension_is_sent_no_updates(
    tiny_city, receiver, django_capture_on_commit_callbacks
):
    open311(tiny_city, receiver.url)  # open311_updates off
    receiver.ok_body = [{"service_request_id": "SR-2"}]
    report = file_report(tiny_city, django_capture_on_commit_callbacks)

    comment(report, django_capture_on_commit_callbacks)

    assert not UpdateDelivery.objects.exists() and len(receiver.requests) == 1


def test_an_open311_update_refused_with_400_fails_for_a_person_to_resend(
    tiny_city, receiver, django_capture_on_commit_callbacks
):
    open311(tiny_city, receiver.url, open311_updates=True)
    receiver.ok_body = [{"service_request_id": "SR-3"}]
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    receiver.replies.append((400, [{"code": 400, "description": "unknown request"}]))

    comment(report, django_capture_on_commit_callbacks)

    failed = UpdateDelivery.objects.get(report=report)
    assert failed.status == DeliveryStatus.FAILED and "unknown request" in failed.last_error
    receiver.ok_body = [{"update_id": "UPD-8"}]
    with django_capture_on_commit_callbacks(execute=True):
        council_updates.update_delivery_resend(update_delivery_id=failed.pk)
    assert UpdateDelivery.objects.get(pk=failed.pk).remote_id == "UPD-8"


# --- The staff control ----------------------------------------------------------------------------


def test_an_authoritys_administrator_switches_updates_on_in_the_admin_and_nothing_else(tiny_city):
    admin = factories.staff(tiny_city.west, role=StaffRole.ADMINISTRATOR)
    admin.is_staff = True
    admin.save()
    client = Client()
    client.force_login(admin)
    link = AuthorityCategory.objects.get(authority=tiny_city.west, category=tiny_city.pothole)
    url = f"/admin/authorities/authoritycategory/{link.pk}/change/"

    response = client.post(url, {"send_updates": "on", "email": "thief@example.org"})

    link.refresh_from_db()
    assert response.status_code == 302
    assert link.send_updates and link.email == COUNCIL


def test_updates_sent_are_in_the_admin_for_their_authority_only(
    tiny_city, smtp, django_capture_on_commit_callbacks
):
    destination(tiny_city, send_updates=True)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    comment(report, django_capture_on_commit_callbacks)
    row = UpdateDelivery.objects.get(report=report)
    pages = ["/admin/reports/updatedelivery/", f"/admin/reports/updatedelivery/{row.pk}/change/"]
    ours, theirs = Client(), Client()
    for client, authority in ((ours, tiny_city.west), (theirs, tiny_city.east)):
        staff = factories.staff(authority, role=StaffRole.ADMINISTRATOR)
        staff.is_staff = True
        staff.save()
        client.force_login(staff)

    assert all(ours.get(page).status_code == 200 for page in pages)
    assert report.ref in ours.get(pages[0]).content.decode()
    assert report.ref not in theirs.get(pages[0]).content.decode()
    assert theirs.get(pages[1]).status_code in (302, 403, 404)
