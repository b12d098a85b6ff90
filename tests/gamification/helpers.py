"""Steps the game's tests share."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from accounts.models import User
from gamification import selectors
from reports import services as report_services
from reports.models import Report, ReportState


def move(report: Report, state: str, actor: User, **kwargs: Any) -> Report:
    return report_services.report_transition(
        report_id=report.pk, to_state=state, actor=actor, **kwargs
    )


def verify(city: Any, report: Report) -> Report:
    return move(report, ReportState.VERIFIED, city.west_staff)


def balance(user: User) -> int:
    return selectors.balance_of(user.pk)


def assert_ledger_consistent() -> None:
    assert selectors.ledger_mismatches() == []


def run_at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Start every call at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # the refusals are results too
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


postgres_only = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="needs PostgreSQL row locks"
)
