"""Without a broker, a filing answers once the report is committed, and the process's worker
thread (config.embedded) then follows it up and delivers it, as a Celery worker does with a
broker: the embedded default of ``make run`` (issue 18)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_client_create
from config import embedded
from reports.models import Delivery, DeliveryStatus, Report, Subscription
from tests import factories
from tests.conftest import TinyCity
from tests.reports.mail import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the thread has its own connection
ROOT = Path(__file__).resolve().parents[2]


class Gate:
    """Stands in for a long task ahead in the queue: holds the thread until opened."""

    name = "tests.gate"

    def __init__(self) -> None:
        self.opened = threading.Event()

    def apply(self, *, args: tuple[Any, ...], throw: bool) -> None:
        assert self.opened.wait(10)


class Broken:
    name = "tests.broken"

    def apply(self, *, args: tuple[Any, ...], throw: bool) -> None:
        raise RuntimeError("a task that fails")


@pytest.fixture
def threaded(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The worker thread on, a fresh one as in a process that has just started."""
    settings.EMBEDDED_WORKER = True
    worker = embedded._Worker()
    monkeypatch.setattr(embedded, "_worker", worker)
    yield
    assert embedded.drain(10)
    worker.stop(10)  # nor its connection: neither may outlive the test database


@pytest.fixture
def key(tiny_city: TinyCity) -> str:
    user = factories.UserFactory.create(email="app@partner.example.org")
    return api_client_create(name="Partner app", scope="write", user=user)[1]


def file(key: str, n: int) -> Report:
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=key)
    payload = {"title": f"Hole {n}", "description": "Deep", "category": "pothole"}
    response = api.post(
        "/api/v1/reports/", {**payload, "latitude": 10.05, "longitude": 1.05 + n * 0.001}
    )
    assert response.status_code == 201, response.content
    return Report.objects.get(ref=response.json()["ref"])


def council_mails() -> list[Any]:
    return [m for m in mail.outbox if any("council.example.org" in to for to in m.to)]


def test_a_filing_answers_before_its_follow_up_and_the_thread_then_delivers_it_once(
    threaded: None, key: str
) -> None:
    gate = Gate()
    embedded.submit(gate, (1,))  # the thread is busy: nothing queued now can run yet

    report = file(key, 0)

    assert report.follow_up_due  # committed and answered; its follow-up is queued
    assert not Delivery.objects.filter(report=report).exists()
    assert council_mails() == []
    gate.opened.set()
    assert embedded.drain(10)
    report.refresh_from_db()
    assert not report.follow_up_due
    assert report.sent_at is not None
    [delivery] = Delivery.objects.filter(report=report)
    assert delivery.status == DeliveryStatus.SENT
    assert Subscription.objects.filter(report=report).count() == 1
    [sent] = council_mails()
    assert report.ref in sent.subject + sent.body


def test_a_burst_of_filings_is_followed_up_together_and_each_is_delivered_once(
    threaded: None, key: str
) -> None:
    gate = Gate()
    embedded.submit(gate, (1,))
    reports = [file(key, n) for n in range(6)]

    gate.opened.set()
    assert embedded.drain(10)

    assert not Report.objects.filter(follow_up_due=True).exists()
    sent = Delivery.objects.filter(report__in=reports, status=DeliveryStatus.SENT)
    assert sent.count() == 6
    assert len(council_mails()) == 6


class Started:
    """Records when it starts; with ``then``, queues that task (without arguments) from the
    thread, as a follow-up batch queues its deliveries' wake-up."""

    def __init__(self, name: str, then: Any = None) -> None:
        self.name, self.then, self.at = name, then, 0.0

    def apply(self, *, args: tuple[Any, ...], throw: bool) -> None:
        self.at = time.monotonic()
        if self.then is not None:
            embedded.submit(self.then)


def test_a_wake_up_from_a_request_waits_to_gather_its_moment_and_one_from_the_thread_does_not(
    threaded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "LINGER_SECONDS", 0.5)
    from_request = Started("tests.from-request")
    queued = time.monotonic()
    embedded.submit(from_request)
    assert embedded.drain(10)
    assert from_request.at - queued >= 0.5

    from_thread = Started("tests.from-thread")
    batch = Started("tests.batch", then=from_thread)
    embedded.submit(batch, (1,))  # with arguments: runs at once
    assert embedded.drain(10)
    assert from_thread.at - batch.at < 0.25  # its batch is made: no wait


def test_a_failing_task_is_logged_and_the_thread_goes_on_with_the_next(
    threaded: None, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate()
    embedded.submit(Broken(), (7,))
    # Held until the filing has answered and been read: on SQLite the test database is shared
    # in memory, and a read while the thread writes fails at once ("database table is locked").
    embedded.submit(gate, (1,))
    report = file(key, 0)
    gate.opened.set()

    assert embedded.drain(10)
    assert "Task tests.broken(7,) failed; it will be re-driven" in caplog.text
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT


def test_with_the_thread_off_the_filing_is_followed_up_and_delivered_in_the_request(
    settings: Any, key: str
) -> None:
    settings.EMBEDDED_WORKER = False
    report = file(key, 0)

    assert not report.follow_up_due
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT
    assert len(council_mails()) == 1


EXITING = """
import os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["CELERY_BROKER_URL"] = ""
os.environ["EMBEDDED_WORKER"] = "true"
import django
django.setup()
from config import embedded

class Slow:
    name = "slow"
    def apply(self, *, args, throw):
        time.sleep(0.5)
        with open(args[0], "a") as out:
            out.write("done\\n")

embedded.submit(Slow(), (sys.argv[1],))
embedded.submit(Slow(), (sys.argv[1],))
"""


def test_a_process_that_exits_first_finishes_what_it_queued(tmp_path: Path) -> None:
    # A management command that files reports, or a gunicorn worker told to stop, exits
    # normally: its queued tasks run before it does.
    out = tmp_path / "out.txt"
    script = tmp_path / "exiting.py"
    script.write_text(EXITING)
    command = [sys.executable, str(script), str(out)]
    subprocess.run(command, cwd=ROOT, check=True, timeout=60)  # noqa: S603 (a fixed script)
    assert out.read_text() == "done\ndone\n"


def test_the_thread_starts_with_a_request_and_re_drives_a_delivery_whose_retry_is_due(
    threaded: None, settings: Any, key: str, client: Any
) -> None:
    # The council's mail server was down at the filing: the delivery waits for a retry.
    settings.EMBEDDED_WORKER = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    report = file(key, 0)
    delivery = Delivery.objects.get(report=report)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    # It is back, the retry is due, and this process has just started: no task is queued.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    settings.EMBEDDED_WORKER, settings.REDRIVE_SECONDS = True, 0.2

    client.get("/api/v1/categories/")  # any request starts the thread

    deadline = time.monotonic() + 10
    while _status(delivery.pk) != DeliveryStatus.SENT:
        assert time.monotonic() < deadline, "the re-drive did not send the delivery"
        time.sleep(0.05)
    assert len(council_mails()) == 1


def _status(delivery_id: int) -> str:
    try:
        return Delivery.objects.get(pk=delivery_id).status
    except OperationalError:  # SQLite's shared test database: the thread is writing; look again
        return ""


def test_the_test_process_starts_with_the_worker_thread_off():
    # What settings.py read at start-up, beneath the settings fixture's per-test value: a request
    # outside that fixture (a module-scoped fixture's) started the thread, which then re-drove
    # every minute on the tests' database and kept it from being dropped (pyproject.toml's env).
    from config import settings as at_start_up

    assert at_start_up.EMBEDDED_WORKER is False
