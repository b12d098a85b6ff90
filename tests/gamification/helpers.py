"""Steps the game's tests share."""

from __future__ import annotations

from typing import Any

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
