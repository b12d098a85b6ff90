"""Coalesced wake-ups: many commits, one Celery task, none missed.

A commit that leaves work for the workers (a new delivery, a filed report to follow up) calls
wake(). Only the first since a worker last looked publishes the task, which reads every row that
is due; the others pay one cache add (0.07 ms) instead of a Celery publish (0.55 ms of a 5 ms
filing). The task calls woken() *before* it reads the rows, so a row committed after that read
finds no mark and publishes the next wake-up. A broker that is down is logged and the mark
cleared, so the next commit tries again once config.broker's pause is over; a wake-up lost inside
the broker is redone when the mark expires; and Celery beat re-drives every minute whatever
happens. While the shared cache is out of reach no wake-up is sent at all (a mark in one
process's memory would be one no worker clears, and the broker is usually the same Redis): the
rows wait for beat. The rows are the truth.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache

from config import broker
from config.cache import unreachable

MARK_SECONDS = 30


def coalescing() -> bool:
    """Whether wake-ups can be shared: tasks go to a broker, and the workers see this cache.
    Without a broker tasks run in-process when called; a per-process cache would keep a mark
    that no worker can clear."""
    backend = settings.CACHES["default"]["BACKEND"]
    shared = not backend.endswith(("LocMemCache", "DummyCache"))
    return shared and not current_app.conf.task_always_eager


def wake(key: str, task: Any) -> None:
    """Queue ``task`` (a Celery task without arguments) unless a wake-up for ``key`` is pending."""
    if not cache.add(key, 1, MARK_SECONDS):
        return  # queued, and its worker has not looked yet: it will see this commit's rows
    if unreachable():
        return  # the mark is in this process's memory, Redis is away: beat re-drives the rows
    if not broker.publish(task):  # logged; the next commit tries again, beat re-drives the rows
        cache.delete(key)


def woken(key: str) -> None:
    """Called by the woken task before it reads what is due."""
    cache.delete(key)
