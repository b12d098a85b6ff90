"""Delivery throughput: reports per second from "open" to "sent", e-mailed to a local SMTP sink.

    python bench/delivery.py [--reports 300] [--use-database] [--workers N]

By default it builds a throw-away SQLite database with one authority and category, so it never
touches your data; --use-database uses whatever DATABASE_URL holds (e.g. PostgreSQL) and adds a
bench authority, user and reports to it, so it refuses a database whose name does not contain
"bench". Nothing is deleted: only the reports filed by this run are counted. An aiosmtpd
sink on 127.0.0.1 receives the e-mails. Two figures, both with one worker (Celery runs the task
in-process, as without CELERY_BROKER_URL):

- after commit: each report is filed open and its delivery task runs right after the commit;
- re-drive: the reports are filed with no task queued, then one `send_pending --now` pass sends
  them all (what happens after a broker or SMTP outage).

With --workers N (needs --use-database, e.g. PostgreSQL) the production path is measured instead:
N real Celery worker processes (`celery -A config worker --pool solo`) take the tasks from a Redis
broker (BENCH_BROKER_URL, default redis://127.0.0.1:6379/11, emptied first); the figure is reports
per second from the first report filed to the last delivery sent.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--use-database", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=0, help="real Celery workers (0: in-process)"
    )
    args = parser.parse_args()
    if args.workers and not args.use_database:
        parser.error("--workers needs --use-database: worker processes share the database")
    if not args.use_database:
        tmp = tempfile.mkdtemp(prefix="fixpoint-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "true")
    os.environ.pop("CELERY_BROKER_URL", None)  # one in-process worker: the figure is per worker
    if args.workers:
        broker = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/11")
        os.environ["CELERY_BROKER_URL"] = broker
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if args.use_database:
        _require_bench_database()
    import logging

    from aiosmtpd.controller import Controller

    for chatty in ("mail.log", "celery.app.trace"):  # a line per message and per task
        logging.getLogger(chatty).setLevel(logging.WARNING)

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        if args.workers:
            _run_workers(args.reports, args.workers, sink)
        else:
            _run(args.reports, sink)
    finally:
        controller.stop()


def _require_bench_database() -> None:
    """Like the other benches: write only into a database whose name says it is for them."""
    from django.conf import settings

    name = Path(str(settings.DATABASES["default"]["NAME"])).name
    if "bench" not in name:
        sys.exit(
            f"Refusing to use {name!r}: with --use-database the database's name must contain"
            " 'bench' (the run adds an authority, a user and reports to it)."
        )


def _last_report_id() -> int:
    """Reports after this one are the run's: earlier runs' rows stay and are not counted."""
    from reports.models import Report

    return Report.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _sent_since(report_id: int) -> int:
    from reports.models import Delivery, DeliveryStatus

    return Delivery.objects.filter(status=DeliveryStatus.SENT, report_id__gt=report_id).count()


def _run_workers(n: int, workers: int, sink: Sink) -> None:
    import redis
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # no tasks from an earlier run
    category, user = _setup()
    before = _last_report_id()
    processes = [_start_worker(i) for i in range(workers)]
    try:
        time.sleep(3)  # workers connect to the broker
        start = time.perf_counter()
        _file(n, category, user)
        while _sent_since(before) < n:
            if time.perf_counter() - start > 600:
                raise SystemExit("deliveries still not sent after 10 minutes")
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
    print(f"workers: {workers} (Celery, Redis broker), reports: {n}, e-mails: {sink.count}")
    print(f"filed to sent: {n / elapsed:8.1f} reports/s")


def _start_worker(index: int) -> Any:
    import subprocess

    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
    command += ["--loglevel", "WARNING", "-n", f"bench{index}@%h", "--without-heartbeat"]
    return subprocess.Popen(command, cwd=ROOT, env=os.environ.copy())  # noqa: S603 (fixed command)


def _run(n: int, sink: Sink) -> None:
    from django.core.management import call_command

    from reports import delivery, jobs

    call_command("migrate", verbosity=0)
    category, user = _setup()
    before = _last_report_id()

    start = time.perf_counter()
    _file(n, category, user)
    after_commit = time.perf_counter() - start

    real_queue = jobs.delivery_queue
    jobs.delivery_queue = lambda delivery_id: None  # as if the broker were down
    try:
        _file(n, category, user)
    finally:
        jobs.delivery_queue = real_queue
    start = time.perf_counter()
    summary = delivery.deliveries_send_due(ignore_backoff=True, limit=n)
    redrive = time.perf_counter() - start

    sent = _sent_since(before)
    print(f"workers: 1 (in-process), reports: {n} per run, e-mails received: {sink.count}")
    print(f"after commit (file + send): {n / after_commit:8.1f} reports/s")
    print(f"re-drive pass (send only):  {summary.sent / redrive:8.1f} reports/s")
    assert sent == sink.count == 2 * n, (sent, sink.count)


def _setup() -> tuple[Any, Any]:
    from accounts.models import User
    from authorities import services
    from authorities.models import Authority

    ring = [[1.0, 10.0], [1.1, 10.0], [1.1, 10.1], [1.0, 10.1], [1.0, 10.0]]
    authority = Authority.objects.filter(slug="bench-city").first() or Authority(
        name="Bench City",
        slug="bench-city",
        email="reports@bench.example.org",
        boundary={"type": "Polygon", "coordinates": [ring]},
    )
    services.authority_save(authority=authority)  # a re-run on --use-database reuses it
    category = services.category_upsert(slug="bench-pothole", name="Pothole", group="Roads")
    services.authority_category_set(authority=authority, category=category)
    user = User.objects.filter(email="bench@example.org").first()
    user = user or User.objects.create_user("bench@example.org", "bench-password-123")
    return category, user


def _file(n: int, category: Any, user: Any) -> None:
    from reports.services import report_create

    for i in range(n):
        report_create(
            title=f"Hole {i}",
            description="Deep.",
            category=category,
            latitude=10.05,
            longitude=1.05,
            reporter=user,
        )


if __name__ == "__main__":
    main()
