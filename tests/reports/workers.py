"""Real processes for the tests that need them: a Celery worker on a Redis broker, a private
redis-server a test may stop, and a mail server that can hold its answer. Every wait has a deadline
and every process started here is stopped here, by its own pid.

The fixtures using these are in conftest.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import kombu.pools
import redis
from django.conf import settings as django_settings
from django.db import connection

from config.celery import app as celery_app
from reports.models import Delivery, Report
from tests.reports.mail import Handler, SmtpServer, free_port

BASE_DIR = Path(django_settings.BASE_DIR)
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
LOCK_KEY = "fixpoint-tests:celery-broker-lock"
FROM = "Fixpoint <noreply@fixpoint.example.org>"
FORM = {
    "latitude": 10.05,
    "longitude": 1.05,
    "category": "pothole",
    "title": "Deep hole",
    "description": "Next to the bakery",
    "confirm_new": "True",
}


def wait_until(check: Callable[[], Any], seconds: float, what: str, log: Path | None = None) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"Gave up after {seconds}s waiting for {what}.\n{tail}")


# --- The council's mail server -------------------------------------------------------------------


class CouncilMailbox(Handler):
    """Keeps every message that reaches it. Can hold its answer to the next DATA (a slow server),
    so a test can kill the worker after the message arrived and before the row was updated."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_next = False
        self.holding = threading.Event()
        self.released = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.hold_next:
            self.hold_next = False
            self.holding.set()
            deadline = time.monotonic() + 30
            while not self.released.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        return reply


def council_mail_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.handler = CouncilMailbox()
    server.start()
    yield server
    server.handler.released.set()
    server.stop()


def mailbox(server: SmtpServer) -> CouncilMailbox:
    assert isinstance(server.handler, CouncilMailbox)
    return server.handler


# --- Brokers: a claimed database on the machine's Redis, or a private redis-server --------------


def broker_databases() -> list[int]:
    """The Redis databases the broker tests may claim: TEST_BROKER_REDIS_DBS (e.g. "4,5" or
    "8-15", the default) where others use some of 8 to 15 on a shared machine."""
    found: list[int] = []
    for part in os.environ.get("TEST_BROKER_REDIS_DBS", "8-15").split(","):
        first, _, last = part.partition("-")
        found += range(int(first), int(last or first) + 1)
    return found


def claimed_redis_database() -> Iterator[str]:
    """A Redis database nobody else uses during this run: an empty one, claimed with a lock key
    (several test runs, and the processes of a parallel one, share this machine's Redis). Only
    Celery's own keys are removed after."""
    databases = broker_databases()
    for db in reversed(databases):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
        if client.dbsize() == 0 and client.set(LOCK_KEY, os.getpid(), nx=True, ex=1800):
            if client.dbsize() == 1:
                break
            client.delete(LOCK_KEY)
    else:
        raise AssertionError(
            f"No free Redis database ({databases}, TEST_BROKER_REDIS_DBS) on "
            f"{REDIS_HOST}:{REDIS_PORT} for the broker."
        )
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
    celery_keys = [*client.scan_iter("_kombu.binding*"), "celery", "unacked", "unacked_index"]
    client.delete(*celery_keys, "unacked_mutex", LOCK_KEY)


class RedisServer:
    """A redis-server of this test's own on a free port, which the test may stop and start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://{REDIS_HOST}:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--bind", REDIS_HOST, "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no"]  # nothing written to disk
        self.process = subprocess.Popen(  # noqa: S603 (a fixed command, no shell)
            command,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        wait_until(lambda: self._pings(client), 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server could not hear SIGTERM
            self.process.terminate()  # SIGTERM: redis-server shuts down cleanly
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel but nothing answers, as when the
        network to Redis is cut; thaw() brings it back with everything it held."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False


def private_redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@contextmanager
def tasks_sent_to(broker_url: str) -> Iterator[None]:
    """This process queues tasks on the broker instead of running them eagerly. The app was
    configured at start-up, so its conf is changed (and its cached connection pools dropped)."""
    saved = {
        "broker_url": celery_app.conf.broker_url,
        "task_always_eager": celery_app.conf.task_always_eager,
    }
    celery_app.conf.update(broker_url=broker_url, task_always_eager=False)
    _drop_connection_pools()
    try:
        yield
    finally:
        celery_app.conf.update(saved)
        _drop_connection_pools()


def _drop_connection_pools() -> None:
    kombu.pools.reset()  # closes the cached connections and forgets their pools
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


# --- The worker ---------------------------------------------------------------------------------


class Worker:
    """`celery -A config worker --pool solo --concurrency 1 -Q celery` in its own process."""

    def __init__(self, broker_url: str, env: dict[str, str], log: Path) -> None:
        self.broker_url = broker_url
        self.name = f"fixpoint-test-{uuid.uuid4().hex[:8]}@localhost"
        self.log = log
        command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
        command += ["--pool", "solo", "--concurrency", "1", "-Q", "celery", "-n", self.name]
        command += ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        with log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 (a fixed command, no shell)
                command,
                cwd=BASE_DIR,
                env={**env, "CELERY_BROKER_URL": broker_url},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        def answers() -> bool:
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            return bool(celery_app.control.ping(destination=[self.name], timeout=0.5))

        wait_until(answers, 30, f"worker {self.name} to answer a ping", self.log)

    def drain(self, *, unacked_before: frozenset[bytes] = frozenset()) -> None:
        """Wait until every queued task has run: acks are late, so a task leaves Redis's
        "unacked" hash only when it is done. A killed worker's task stays there (unacked_before)."""
        broker = redis.Redis.from_url(self.broker_url)

        def idle() -> bool:
            running = set(cast(list[bytes], broker.hkeys("unacked")))
            return broker.llen("celery") == 0 and running <= unacked_before

        wait_until(idle, 30, "the worker to finish its tasks", self.log)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown: finishes the task it is running
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_environment(smtp_port: int) -> dict[str, str]:
    db = connection.settings_dict  # the test database, by now (test_<name>)
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{quote(db['USER'])}{password}@{host}/{db['NAME']}",
        "DATABASE_CONN_MAX_AGE": "0",  # no connection left open when the test database goes
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "DEFAULT_FROM_EMAIL": FROM,
        "DELIVERY_TIMEOUT_SECONDS": "20",
        "PYTHONUNBUFFERED": "1",
    }


class Workers:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.started: list[Worker] = []

    def start(self, broker_url: str) -> Worker:
        worker = Worker(broker_url, self.env, self.log)
        self.started.append(worker)
        worker.wait_ready()
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


def delivery_of(report: Report, status: str, log: Path, seconds: float = 30) -> Delivery:
    def found() -> Delivery | None:
        return Delivery.objects.filter(report=report, status=status).first()

    what = f"the delivery of {report.ref} to be {status}"
    result: Delivery = wait_until(found, seconds, what, log)
    return result
