"""The queue: the one place that hands work to Celery workers, and the coalesced wake-ups.

Services decide that work should leave the request (a notification to send, a delivery to send,
filed reports to follow up) and call the functions below, after their commit. Tasks are named,
not imported: ``reports.tasks`` imports the services it runs, so importing it here would join
every service to every other one in an import circle. Each task is taken from Celery's registry
by name when it is queued, and queued through ``config.broker.publish``, which never lets a broker
outage reach the caller (the rows are the truth and Celery beat re-drives them).

Coalesced wake-ups: many commits, one Celery task, none missed. A commit that leaves rows for
the workers calls ``wake()``; only the first since a worker last looked publishes the task, which
reads every row that is due, and the others pay one cache add instead of a Celery publish. The
task calls ``woken()`` *before* it reads the rows, so a row committed after that read finds no
mark and publishes the next wake-up. A broker that is down is logged and the mark cleared, so
the next commit tries again once config.broker's pause is over; a wake-up lost inside the broker
is redone when the mark expires; and Celery beat re-drives every minute whatever happens. While
the shared cache is out of reach no wake-up is sent at all (a mark in one process's memory would
be one no worker clears, and the broker is usually the same Redis): the rows wait for beat.

May import: ``config``. Imported by the services of ``reports``; imports none of them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache

from config import broker, embedded
from config.cache import unreachable

MARK_SECONDS = 30
FOLLOW_UPS = "followups:wake"  # the wake-up mark of filed reports waiting for their follow-up
DELIVERIES = "delivery:wake"  # the wake-up mark of new deliveries waiting to be sent


def _task(name: str) -> Any:
    return current_app.tasks[f"reports.tasks.{name}"]


def coalescing() -> bool:
    """Whether work leaves the request for a worker, sharing wake-ups: tasks go to a broker and
    the workers see this cache, or (no broker) to this process's worker thread
    (config.embedded), which queues a wake-up once without a mark. Otherwise tasks run in the
    request when called, and a per-process cache would keep a mark that no worker can clear."""
    if current_app.conf.task_always_eager:
        return embedded.enabled()
    backend = settings.CACHES["default"]["BACKEND"]
    shared = not backend.endswith(("LocMemCache", "DummyCache"))
    return shared


def in_process() -> bool:
    """Whether tasks run in this process (no broker): on its one worker thread
    (config.embedded), or in the request that queues them. There is no other worker then to
    share rows out to."""
    return bool(current_app.conf.task_always_eager)


def wake(key: str, task_name: str) -> None:
    """Queue the task (one without arguments) unless a wake-up for ``key`` is pending."""
    if current_app.conf.task_always_eager and embedded.enabled():
        broker.publish(_task(task_name))  # the worker thread keeps one wake-up per task
        return
    if not cache.add(key, 1, MARK_SECONDS):
        return  # queued, and its worker has not looked yet: it will see this commit's rows
    if unreachable():
        return  # the mark is in this process's memory, Redis is away: beat re-drives the rows
    if not broker.publish(_task(task_name)):  # logged; the next commit tries, beat re-drives
        cache.delete(key)


def woken(key: str) -> None:
    """Called by the woken task before it reads what is due."""
    cache.delete(key)


def follow_ups_wake() -> None:
    """After the commit of a report filed with follow_up_due: have a worker follow it up."""
    wake(FOLLOW_UPS, "follow_up_filed_reports")


def deliveries_wake() -> None:
    """After the commit that wrote new deliveries: have a worker dispatch them."""
    wake(DELIVERIES, "dispatch_deliveries")


def delivery_queue(delivery_id: int) -> None:
    """Have a worker send one delivery (in-process without a broker). If it is not queued
    (logged), the re-drive sends it later."""
    broker.publish(_task("deliver"), delivery_id)


def update_delivery_queue(update_delivery_id: int) -> None:
    """Have a worker send one citizen's update to the council (reports.delivery.council_updates).
    If it is not queued (logged), the re-drive sends it later."""
    broker.publish(_task("deliver_update"), update_delivery_id)


def notification_queue(notification_id: int, delay: timedelta = timedelta(0)) -> None:
    """Have a worker send one e-mail once ``delay`` has passed. If it is not queued (logged),
    the row stays pending and the re-drive sends it."""
    broker.publish(_task("send_notification"), notification_id, countdown=delay.total_seconds())
