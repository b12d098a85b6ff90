"""Delivery throughput: reports per second from "open" to "sent", e-mailed to a local SMTP sink.

    python bench/delivery.py [--reports 300] [--use-database]

By default it builds a throw-away SQLite database with one authority and category, so it never
touches your data; --use-database uses whatever DATABASE_URL holds (e.g. PostgreSQL). An aiosmtpd
sink on 127.0.0.1 receives the e-mails. Two figures, both with one worker (Celery runs the task
in-process, as without CELERY_BROKER_URL):

- after commit: each report is filed open and its delivery task runs right after the commit;
- re-drive: the reports are filed with no task queued, then one `send_pending --now` pass sends
  them all (what happens after a broker or SMTP outage).
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
    args = parser.parse_args()
    if not args.use_database:
        tmp = tempfile.mkdtemp(prefix="fixpoint-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "true")
    os.environ.pop("CELERY_BROKER_URL", None)  # one in-process worker: the figure is per worker
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    from aiosmtpd.controller import Controller

    for chatty in ("mail.log", "celery.app.trace"):  # a line per message and per task
        logging.getLogger(chatty).setLevel(logging.WARNING)

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _run(args.reports, sink)
    finally:
        controller.stop()


def _run(n: int, sink: Sink) -> None:
    from django.core.management import call_command

    from reports import delivery
    from reports.models import Delivery, DeliveryStatus

    call_command("migrate", verbosity=0)
    category, user = _setup()

    start = time.perf_counter()
    _file(n, category, user)
    after_commit = time.perf_counter() - start

    real_schedule = delivery.schedule
    delivery.schedule = lambda delivery_id: None  # as if the broker were down
    try:
        _file(n, category, user)
    finally:
        delivery.schedule = real_schedule
    start = time.perf_counter()
    summary = delivery.deliveries_send_due(ignore_backoff=True, limit=n)
    redrive = time.perf_counter() - start

    sent = Delivery.objects.filter(status=DeliveryStatus.SENT).count()
    print(f"workers: 1 (in-process), reports: {n} per run, e-mails received: {sink.count}")
    print(f"after commit (file + send): {n / after_commit:8.1f} reports/s")
    print(f"re-drive pass (send only):  {summary.sent / redrive:8.1f} reports/s")
    assert sent == sink.count == 2 * n, (sent, sink.count)


def _setup() -> tuple[Any, Any]:
    from accounts.models import User
    from authorities import services
    from authorities.models import Authority

    ring = [[1.0, 10.0], [1.1, 10.0], [1.1, 10.1], [1.0, 10.1], [1.0, 10.0]]
    authority = Authority(
        name="Bench City",
        slug="bench-city",
        email="reports@bench.example.org",
        boundary={"type": "Polygon", "coordinates": [ring]},
    )
    services.authority_save(authority=authority)
    category = services.category_upsert(slug="bench-pothole", name="Pothole", group="Roads")
    services.authority_category_set(authority=authority, category=category)
    user = User.objects.create_user("bench@example.org", "bench-password-123")
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
