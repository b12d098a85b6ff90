"""Delivery: getting each report to the authority responsible for it, and back what it did.

Owns the outbox (``outbox``: a Delivery row per destination written with the change that opened
the report, sent after commit by a worker, retried with backoff, re-driven when stuck), the
channels it sends through (``channels`` is the registry; one module each: ``email``,
``open311``, ``webhook``; ``failures``, ``facts`` and ``http`` are what they share), re-routing a
report to another authority (``reroute``), and the Open311 status poll that brings the council's
changes back (``status_sync``).

May import: the core of ``reports`` (models, services, jobs, audit, notes, open311.states),
``authorities``, ``accounts``, ``config``. Imported by the core's follow-ups, the tasks, the
staff pages, the admin and the API; never by ``reports.services``.

The outbox's and re-routing's functions are named here too, as ``reports.delivery.<name>``.
"""

from .outbox import (
    WAKE_KEY,
    RedriveSummary,
    deliveries_create,
    deliveries_create_many,
    deliveries_dispatch,
    deliveries_send,
    deliveries_send_due,
    delivery_mark_sent,
    delivery_resend,
    delivery_send,
    retry_delay,
    stuck_after,
    wake_workers,
)
from .reroute import report_reroute

__all__ = [
    "WAKE_KEY",
    "RedriveSummary",
    "deliveries_create",
    "deliveries_create_many",
    "deliveries_dispatch",
    "deliveries_send",
    "deliveries_send_due",
    "delivery_mark_sent",
    "delivery_resend",
    "delivery_send",
    "report_reroute",
    "retry_delay",
    "stuck_after",
    "wake_workers",
]
