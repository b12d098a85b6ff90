"""A gunicorn worker killed between the commit of a filing and its answer: the client never hears
back, sends the same request with the same Idempotency-Key, and gets the filing's answer; one
report exists.

The server is this code base under gunicorn on the test's PostgreSQL database, without a broker
and with EMBEDDED_WORKER=false, so the delivery to the council runs in the request right after
the commit (as it does on a deployment without Celery that keeps tasks in the request). The
council's mail server holds its answer to DATA: the worker is then between the commit and the
answer, and the test kills it with SIGKILL. Nothing in Fixpoint knows it
is being tested.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from accounts.models import ApiScope, IdempotencyKey
from accounts.services import api_client_create
from reports.models import Delivery, DeliveryStatus, Report
from tests import factories
from tests.reports import workers as processes
from tests.reports.mail import SmtpServer, free_port

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (DATABASE_URL=postgres://...): gunicorn must open the test "
        "database, and SQLite's test database is in-memory in the test process",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
FILING = {
    "title": "Deep hole",
    "description": "By the bus stop",
    "category": "pothole",
    "latitude": 10.05,
    "longitude": 1.05,
}


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        request = urllib.request.Request(  # noqa: S310 (our own server on 127.0.0.1)
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def wait_for_a_worker(self) -> None:
        def answers() -> bool:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1).close()  # noqa: S310
                return True
            except (urllib.error.URLError, OSError):
                return False

        processes.wait_until(answers, 30, "gunicorn to answer", self.log)


@pytest.fixture
def council_mail() -> Iterator[SmtpServer]:
    yield from processes.council_mail_server()


@pytest.fixture
def gunicorn(transactional_db: None, council_mail: SmtpServer, tmp_path: Path) -> Iterator[Server]:
    """Stopped before the test's tables are emptied (it needs transactional_db)."""
    env = {
        **processes.worker_environment(council_mail.port),
        "CACHE_URL": "locmemcache://",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)
    env["EMBEDDED_WORKER"] = "false"  # tasks run in the request, after the commit
    port = free_port()
    log = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}"]
    command += ["-w", "1", "--timeout", "120"]
    process = subprocess.Popen(  # noqa: S603 (a fixed command, no shell)
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w")
    )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        server.wait_for_a_worker()
        yield server
    finally:
        process.terminate()  # the master stops its workers
        process.wait(timeout=30)


def test_a_worker_killed_between_commit_and_answer_is_retried_with_its_key_and_files_once(
    tiny_city, gunicorn, council_mail
):
    user = factories.UserFactory.create()
    key = api_client_create(name="City app", scope=ApiScope.WRITE, user=user)[1]
    headers = {"X-API-Key": key, "Idempotency-Key": "6f1c7a52-filing"}
    mailbox = processes.mailbox(council_mail)
    mailbox.hold_next = True  # the delivery after the commit waits for the mail server
    lost: list[BaseException] = []

    def first_attempt() -> None:
        try:
            gunicorn.post("/api/v1/reports/", FILING, headers)
        except (http.client.HTTPException, OSError) as exc:
            lost.append(exc)

    attempt = threading.Thread(target=first_attempt)
    attempt.start()
    processes.wait_until(mailbox.holding.is_set, 30, "the delivery to start", gunicorn.log)
    # Committed: the report, its delivery (being sent) and the kept answer, together.
    report = Report.objects.get()
    assert IdempotencyKey.objects.count() == 1
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENDING
    [worker] = gunicorn.worker_pids()
    os.kill(worker, signal.SIGKILL)
    mailbox.released.set()
    attempt.join(timeout=30)
    assert len(lost) == 1  # the client never got an answer

    gunicorn.wait_for_a_worker()  # gunicorn's master starts a new one
    status, answer_headers, body = gunicorn.post("/api/v1/reports/", FILING, headers)
    other_status, _, other_body = gunicorn.post(
        "/api/v1/reports/", FILING, {**headers, "Idempotency-Key": "another-filing"}
    )

    assert status == 201 and answer_headers["Idempotent-Replayed"] == "true"
    answer, fresh = json.loads(body), json.loads(other_body)
    assert answer["id"] == report.pk and answer["ref"] == report.ref
    assert other_status == 201 and answer.keys() == fresh.keys()  # a filing's answer, whole
    assert Report.objects.filter(title="Deep hole").count() == 2  # this one, and the other key's
