"""Writes that arrive over Open311, built on the reports services."""

from __future__ import annotations

from accounts.models import User
from reports.models import ReportStateChange
from reports.services import report_transition


def authority_update_apply(
    *, report_id: int, user: User, to_state: str, public_note: str = ""
) -> ReportStateChange:
    """An authority's own system reports a new status (mySociety's servicerequestupdates).

    The client's user must be staff of the report's authority (checked by report_transition as
    ``via``); the move itself is made by the system actor, so it is recorded as the authority's
    system rather than as one person.
    """
    report = report_transition(
        report_id=report_id, to_state=to_state, via=user, public_note=public_note
    )
    return report.history.order_by("-created_at", "-id")[0]
