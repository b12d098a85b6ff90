"""Open311 delivery to a second, live Fixpoint acting as the council.

The council is this same code base started as its own process (gunicorn, its own SQLite database),
with an authority, a category and a write API key: Fixpoint delivers to it over GeoReport v2 and
the tests ask it, over GeoReport v2 too, what it received. Faults on the line between the two (a
500, an answer lost after the council filed the request) come from a small proxy in between: the
network is the only thing not real here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from authorities.models import AuthorityCategory, CategoryQuestion, DeliveryMethod
from reports import delivery
from reports.delivery import status_sync
from reports.models import Delivery, DeliveryStatus, Report, ReportState
from tests import factories
from tests.reports.mail import free_port

ROOT = Path(__file__).resolve().parents[2]

# Run inside the council's process: one authority around the tiny city's west district, the
# category we deliver to (with the question we send an answer for), and a write key.
COUNCIL_SETUP = """
from authorities import services as a
from authorities.models import Authority, CategoryQuestion
from accounts.models import User
from accounts.services import api_client_create

box = {"type": "Polygon", "coordinates": [[[0.9, 9.9], [1.3, 9.9], [1.3, 10.2], [0.9, 10.2],
       [0.9, 9.9]]]}
council = a.authority_save(authority=Authority(name="West Council", slug="west", boundary=box))
potholes = a.category_upsert(slug="potholes", name="Potholes", group="Roads")
CategoryQuestion.objects.get_or_create(category=potholes, code="depth", label="How deep?")
a.authority_category_set(authority=council, category=potholes)
feed = User.objects.create_user(email="feed@fixpoint.example.org", password=None)
a.staff_membership_set(user=feed, authority=council, role="inspector")  # may post updates
client, key = api_client_create(name="Fixpoint", scope="write", user=feed)
print("KEY=" + key)
"""


@dataclass
class CouncilFixpoint:
    url: str
    key: str

    def service_requests(self, **query: str) -> list[dict[str, Any]]:
        params = urlencode({"service_code": "potholes", **query})
        with urllib.request.urlopen(f"{self.url}/open311/v2/requests.json?{params}") as answer:  # noqa: S310
            result: list[dict[str, Any]] = json.loads(answer.read())
        return result

    def post_update(self, service_request_id: str, status: str, description: str) -> None:
        """What the council's own system does when its crew reports back."""
        body = urlencode(
            {"service_request_id": service_request_id, "status": status,
             "description": description, "api_key": self.key}
        ).encode()  # fmt: skip
        url = f"{self.url}/open311/v2/servicerequestupdates.json"
        urllib.request.urlopen(url, data=body).close()  # noqa: S310

    def requests_for(self, report: Report) -> list[dict[str, Any]]:
        return [r for r in self.service_requests() if report.ref in (r["description"] or "")]


@pytest.fixture(scope="module")
def council_fixpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouncilFixpoint]:
    home = tmp_path_factory.mktemp("council")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{home}/council.sqlite3",
        "CACHE_URL": "locmemcache://",
        "EMAIL_URL": "dummymail://",
        "MEDIA_ROOT": str(home / "media"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BASE_URL": "http://council.example.org",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)  # the council sends its own mail in-process
    manage = [sys.executable, str(ROOT / "manage.py")]
    migrate = [*manage, "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, env=env, check=True, cwd=ROOT)  # noqa: S603 (fixed commands, no shell)
    setup = subprocess.run(  # noqa: S603
        [*manage, "shell", "-c", COUNCIL_SETUP],
        env=env, check=True, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    key = setup.stdout.split("KEY=")[1].strip()
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(home / "server.log").open("w"),
    )  # fmt: skip
    council = CouncilFixpoint(url=f"http://127.0.0.1:{port}", key=key)
    try:
        _wait_until_up(council.url, server, home / "server.log")
        yield council
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"The council's server stopped: {log.read_text()}")
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).close()  # noqa: S310
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"The council's server did not start: {log.read_text()}")


@dataclass
class FaultyLine:
    """A proxy to the council that can answer for it or drop its answer, once per queued fault."""

    upstream: str
    faults: list[str | tuple[int, Any]] = field(default_factory=list)
    posts: int = 0
    url: str = ""

    def relay(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        self.posts += method == "POST"
        fault = self.faults.pop(0) if method == "POST" and self.faults else None
        if isinstance(fault, tuple):
            return fault  # answered here: the council never saw it
        request = urllib.request.Request(  # noqa: S310
            self.upstream + path, data=body, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request) as answer:  # noqa: S310
                reply = (answer.status, json.loads(answer.read()))
        except urllib.error.HTTPError as exc:
            reply = (exc.code, json.loads(exc.read()))
        return None if fault == "drop" else reply  # "drop": filed there, answer lost here


@pytest.fixture
def line(council_fixpoint: CouncilFixpoint) -> Iterator[FaultyLine]:
    proxy = FaultyLine(upstream=council_fixpoint.url)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._relay(None)

        def do_POST(self) -> None:
            self._relay(self.rfile.read(int(self.headers["Content-Length"])))

        def _relay(self, body: bytes | None) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            reply = proxy.relay(self.command, self.path, headers, body)
            if reply is None:
                self.close_connection = True  # the connection breaks before any answer
                return
            data = json.dumps(reply[1]).encode()
            self.send_response(reply[0])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield proxy
    server.shutdown()
    server.server_close()


def deliver_to(city: Any, url: str, key: str, service_code: str = "potholes") -> None:
    AuthorityCategory.objects.filter(authority=city.west, category=city.pothole).update(
        delivery_method=DeliveryMethod.OPEN311,
        endpoint_url=f"{url}/open311/v2/",
        service_code=service_code,
        api_key=key,
    )


def file_report(city: Any, capture: Any, **fields: Any) -> Report:
    reporter = factories.UserFactory.create(display_name="Marta Puig")
    with capture(execute=True):
        return factories.report(
            city.pothole,
            *city.WEST,
            reporter=reporter,
            description="A deep hole in front of the school gate.",
            **fields,
        )


def test_a_report_reaches_the_councils_fixpoint_once_with_its_place_text_and_id(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key)
    CategoryQuestion.objects.create(category=tiny_city.pothole, code="depth", label="How deep?")

    # The council has the same question: it would refuse an answer to one it does not know.
    report = file_report(tiny_city, django_capture_on_commit_callbacks, extra={"depth": "10 cm"})

    [filed] = council_fixpoint.requests_for(report)
    sent = Delivery.objects.get(report=report)
    assert (sent.status, sent.remote_id) == (DeliveryStatus.SENT, filed["service_request_id"])
    assert (filed["lat"], filed["long"]) == tiny_city.WEST
    assert "front of the school gate" in filed["description"]
    assert filed["agency_responsible"] == "West Council" and filed["status"] == "open"
    assert Report.objects.get(pk=report.pk).sent_at is not None


def test_a_500_then_200_leaves_one_request_at_the_council(
    tiny_city, council_fixpoint, line, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, line.url, council_fixpoint.key)
    line.faults.append((500, [{"code": 500, "description": "database busy"}]))

    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    assert "HTTP 500" in Delivery.objects.get(report=report).last_error
    delivery.deliveries_send_due(ignore_backoff=True)
    delivery.deliveries_send_due(ignore_backoff=True)

    [filed] = council_fixpoint.requests_for(report)
    sent = Delivery.objects.get(report=report)
    assert (sent.status, sent.remote_id, sent.attempts) == (
        DeliveryStatus.SENT,
        filed["service_request_id"],
        2,
    )


def test_an_answer_lost_after_the_council_filed_it_is_found_there_not_filed_again(
    tiny_city, council_fixpoint, line, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, line.url, council_fixpoint.key)
    line.faults.append("drop")

    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    assert Delivery.objects.get(report=report).status == DeliveryStatus.PENDING
    delivery.deliveries_send_due(ignore_backoff=True)

    [filed] = council_fixpoint.requests_for(report)
    sent = Delivery.objects.get(report=report)
    assert (sent.status, sent.remote_id) == (DeliveryStatus.SENT, filed["service_request_id"])
    assert line.posts == 1  # the retry asked, found it, and posted nothing


def test_a_worker_that_died_after_the_council_filed_it_is_recovered_without_a_second_request(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    # As if the worker died right after the council answered: the row still says "sending".
    Delivery.objects.filter(report=report).update(
        status=DeliveryStatus.SENDING, remote_id="", claimed_at=timezone.now() - timedelta(hours=1)
    )

    summary = delivery.deliveries_send_due(ignore_backoff=True)

    [filed] = council_fixpoint.requests_for(report)
    sent = Delivery.objects.get(report=report)
    assert (summary.recovered, summary.sent) == (1, 1)
    assert (sent.status, sent.remote_id) == (DeliveryStatus.SENT, filed["service_request_id"])


def test_a_worker_that_died_before_the_council_got_it_files_it_after_the_redrive(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key)
    with django_capture_on_commit_callbacks(execute=False):  # the task never ran
        report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    Delivery.objects.filter(report=report).update(
        status=DeliveryStatus.SENDING, attempts=1, claimed_at=timezone.now() - timedelta(hours=1)
    )

    delivery.deliveries_send_due(ignore_backoff=True)

    assert len(council_fixpoint.requests_for(report)) == 1
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT


def test_a_service_the_council_does_not_offer_is_a_permanent_failure_with_its_reason(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key, service_code="graffiti")

    report = file_report(tiny_city, django_capture_on_commit_callbacks)

    failed = Delivery.objects.get(report=report)
    assert failed.status == DeliveryStatus.FAILED
    assert "HTTP 400" in failed.last_error and "graffiti" in failed.last_error
    assert delivery.deliveries_send_due(ignore_backoff=True).sent == 0
    assert council_fixpoint.requests_for(report) == []


def test_the_councils_fixed_with_a_note_comes_back_to_the_report_on_the_next_poll(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    [filed] = council_fixpoint.requests_for(report)

    council_fixpoint.post_update(filed["service_request_id"], "FIXED", "Filled on Tuesday.")
    with django_capture_on_commit_callbacks(execute=True):
        summary = status_sync.open311_statuses_poll()
    again = status_sync.open311_statuses_poll()

    report.refresh_from_db()
    latest = report.history.order_by("-created_at", "-id").first()
    assert report.state == ReportState.FIXED and (summary.moved, again.moved) == (1, 0)
    assert latest is not None and latest.public_note == "Filled on Tuesday."
