"""Webhook and Open311 deliveries against live HTTP servers on 127.0.0.1 acting as the council."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.utils import timezone

from authorities.models import AuthorityCategory, CategoryQuestion, DeliveryMethod
from reports import delivery
from reports.models import Delivery, DeliveryStatus, Report
from tests import factories

SECRET = "s3cret-shared-with-the-council"


class Council:
    """The remote side: answers queued (status, body) replies, else 200; keeps what it accepted,
    once per idempotency key, as a careful receiver does."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.replies: list[tuple[int, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.accepted: dict[str, dict[str, Any]] = {}
        self.ok_body: Any = {"id": "remote-1"}
        self.url = ""

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        seen = {"path": path, "headers": headers, "body": body}
        self.requests.append(seen)
        if self.replies:
            return self.replies.pop(0)
        if "X-Fixpoint-Signature" in headers and not self.signature_ok(headers, body):
            return 401, {"error": "bad signature"}
        self.accepted.setdefault(headers.get("Idempotency-Key", str(len(self.requests))), seen)
        return 200, self.ok_body

    def signature_ok(self, headers: dict[str, str], body: bytes) -> bool:
        timestamp = headers["X-Fixpoint-Timestamp"]
        if abs(time.time() - int(timestamp)) > 300:  # refuse replays of old requests
            return False
        expected = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        return hmac.compare_digest(
            f"sha256={expected.hexdigest()}", headers["X-Fixpoint-Signature"]
        )


@pytest.fixture
def council() -> Iterator[Council]:
    remote = Council()

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

        def do_GET(self) -> None:  # like many councils' servers: requests can only be filed
            self.send_response(405)
            self.send_header("Allow", "POST")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    remote.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield remote
    server.shutdown()
    server.server_close()


def send_to(city: Any, method: str, url: str, **fields: Any) -> None:
    AuthorityCategory.objects.filter(authority=city.west, category=city.pothole).update(
        delivery_method=method, endpoint_url=url, **fields
    )


def file_report(city: Any, **fields: Any) -> Report:
    reporter = factories.UserFactory.create(display_name="Marta Puig")
    return factories.report(city.pothole, *city.WEST, reporter=reporter, **fields)


# --- Webhooks ------------------------------------------------------------------------------------


def test_a_webhook_gets_one_signed_json_post_with_the_delivery_id_as_idempotency_key(
    tiny_city, council, django_capture_on_commit_callbacks
):
    send_to(
        tiny_city, DeliveryMethod.WEBHOOK, f"{council.url}/hooks/fixpoint", webhook_secret=SECRET
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    [request] = council.requests
    sent = Delivery.objects.get(report=report)
    payload = json.loads(request["body"])
    assert request["path"] == "/hooks/fixpoint" and council.signature_ok(
        request["headers"], request["body"]
    )
    assert request["headers"]["Idempotency-Key"] == f"{sent.pk}-{report.ref}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert payload["delivery_id"] == sent.pk and payload["report"]["ref"] == report.ref
    assert (
        payload["report"]["latitude"] == 10.05
        and payload["report"]["reporter"]["name"] == "Marta Puig"
    )
    assert (sent.status, sent.remote_id) == (DeliveryStatus.SENT, "remote-1")


def test_a_webhook_refused_for_a_bad_signature_fails_permanently_with_the_reason(
    tiny_city, council, django_capture_on_commit_callbacks
):
    send_to(tiny_city, DeliveryMethod.WEBHOOK, council.url, webhook_secret="not-the-shared-one")
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    failed = Delivery.objects.get(report=report)
    assert failed.status == DeliveryStatus.FAILED
    assert "HTTP 401" in failed.last_error and "bad signature" in failed.last_error


def test_a_webhook_answering_429_is_retried_later(
    tiny_city, council, django_capture_on_commit_callbacks
):
    send_to(tiny_city, DeliveryMethod.WEBHOOK, council.url, webhook_secret=SECRET)
    council.replies.append((429, {"error": "slow down"}))
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)
    assert Delivery.objects.get(report=report).status == DeliveryStatus.PENDING

    delivery.deliveries_send_due(ignore_backoff=True)

    assert len(council.accepted) == 1
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT


def test_a_webhook_resent_after_a_worker_died_carries_the_same_key_so_the_council_keeps_one(
    tiny_city, council, django_capture_on_commit_callbacks
):
    send_to(tiny_city, DeliveryMethod.WEBHOOK, council.url, webhook_secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)
    sent = Delivery.objects.get(report=report)
    # As if the worker died after the council accepted it and before the row was updated.
    Delivery.objects.filter(pk=sent.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
    )

    summary = delivery.deliveries_send_due()

    assert (summary.recovered, summary.sent) == (1, 1)
    assert len(council.requests) == 2 and list(council.accepted) == [sent.idempotency_key]


def test_a_webhook_whose_secret_no_configured_key_decrypts_waits_unsent_with_the_reason(
    tiny_city, council, settings, django_capture_on_commit_callbacks
):
    send_to(tiny_city, DeliveryMethod.WEBHOOK, council.url, webhook_secret=SECRET)
    configured = settings.FIELD_ENCRYPTION_KEYS
    settings.FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(b"w" * 32).decode()]  # wrong
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    waiting = Delivery.objects.get(report=report)
    assert council.requests == []  # never signed with an empty or wrong secret
    assert waiting.status == DeliveryStatus.PENDING
    assert "cannot be decrypted" in waiting.last_error and SECRET not in waiting.last_error
    settings.FIELD_ENCRYPTION_KEYS = [*settings.FIELD_ENCRYPTION_KEYS, *configured]  # mended
    delivery.deliveries_send_due(ignore_backoff=True)
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT
    assert council.signature_ok(council.requests[0]["headers"], council.requests[0]["body"])


# --- Open311 -------------------------------------------------------------------------------------


def open311(city: Any, url: str) -> None:
    send_to(
        city,
        DeliveryMethod.OPEN311,
        f"{url}/open311/v2/",
        service_code="POTHOLE-01",
        api_key="key-123",
        jurisdiction_id="west.example.org",
    )


# Against another Fixpoint as the council (500s, lost answers, dead workers): test_delivery_open311.


def test_open311_posts_every_field_the_spec_names_and_keeps_the_request_id(
    tiny_city, council, django_capture_on_commit_callbacks
):
    CategoryQuestion.objects.create(category=tiny_city.pothole, code="depth", label="How deep?")
    open311(tiny_city, council.url)
    council.ok_body = [{"service_request_id": "SR-638344", "service_notice": "Thanks"}]
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city, extra={"depth": "10 cm"})

    [filed] = council.accepted.values()
    params = dict(parse_qsl(filed["body"].decode()))
    assert filed["path"] == "/open311/v2/requests.json"
    assert params["service_code"] == "POTHOLE-01" and params["api_key"] == "key-123"
    assert params["jurisdiction_id"] == "west.example.org"
    assert (params["lat"], params["long"]) == ("10.05", "1.05")
    assert params["attribute[depth]"] == "10 cm" and report.ref in params["description"]
    assert params["first_name"] == "Marta" and params["last_name"] == "Puig"
    sent = Delivery.objects.get(report=report)
    assert (sent.status, sent.remote_id, sent.attempts) == (DeliveryStatus.SENT, "SR-638344", 1)


def test_open311_answering_400_is_a_permanent_failure_with_the_councils_reason(
    tiny_city, council, django_capture_on_commit_callbacks
):
    open311(tiny_city, council.url)
    council.replies.append((400, [{"code": 400, "description": "service_code not found"}]))
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    failed = Delivery.objects.get(report=report)
    assert failed.status == DeliveryStatus.FAILED
    assert "HTTP 400" in failed.last_error and "service_code not found" in failed.last_error
    assert delivery.deliveries_send_due(ignore_backoff=True).sent == 0
    assert council.accepted == {}


def test_an_open311_token_is_kept_until_the_council_gives_the_request_id(
    tiny_city, council, django_capture_on_commit_callbacks
):
    open311(tiny_city, council.url)
    council.ok_body = [{"token": "12345"}]
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    assert Delivery.objects.get(report=report).remote_id == "token:12345"


def test_an_interrupted_open311_delivery_to_a_council_that_cannot_be_searched_waits_for_a_person(
    tiny_city, council, django_capture_on_commit_callbacks
):
    open311(tiny_city, council.url)  # this council answers POST only: GET requests is a 405
    with django_capture_on_commit_callbacks(execute=False):
        report = file_report(tiny_city)
    Delivery.objects.filter(report=report).update(
        status=DeliveryStatus.SENDING, attempts=1, claimed_at=timezone.now() - timedelta(hours=1)
    )

    summary = delivery.deliveries_send_due(ignore_backoff=True)

    held = Delivery.objects.get(report=report)
    assert (summary.recovered, summary.failed) == (1, 1) and council.accepted == {}
    assert held.status == DeliveryStatus.FAILED
    assert f"check whether it has {report.ref}" in held.last_error and "HTTP 405" in held.last_error


def test_an_unreachable_endpoint_is_a_temporary_failure(
    tiny_city, django_capture_on_commit_callbacks
):
    open311(tiny_city, "http://127.0.0.1:9")  # the discard port: nothing listens
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(tiny_city)

    waiting = Delivery.objects.get(report=report)
    assert waiting.status == DeliveryStatus.PENDING and "unreachable" in waiting.last_error
