"""Fixpoint report states in Open311 terms (the table is in the package docstring)."""

from __future__ import annotations

from reports.models import OPEN_STATES, ReportState

S = ReportState

DETAILED_STATUS: dict[str, str] = {
    S.OPEN: "OPEN",
    S.VERIFIED: "INVESTIGATING",
    S.IN_PROGRESS: "IN_PROGRESS",
    S.FIXED: "FIXED",
    S.CLOSED: "CLOSED",
    S.DUPLICATE: "DUPLICATE",
    S.NOT_RESPONSIBLE: "NOT_COUNCILS_RESPONSIBILITY",
}

# What an authority's system may send in servicerequestupdates (upper-cased first).
INCOMING_STATUS: dict[str, str] = {
    "OPEN": S.OPEN,
    "REOPEN": S.OPEN,  # mySociety's: a citizen says it is not fixed
    "INVESTIGATING": S.VERIFIED,
    "VERIFIED": S.VERIFIED,
    "IN_PROGRESS": S.IN_PROGRESS,
    "ACTION_SCHEDULED": S.IN_PROGRESS,
    "FIXED": S.FIXED,
    "CLOSED": S.CLOSED,
    "NO_FURTHER_ACTION": S.CLOSED,
    "NOT_COUNCILS_RESPONSIBILITY": S.NOT_RESPONSIBLE,
    "NOT_RESPONSIBLE": S.NOT_RESPONSIBLE,
    "INTERNAL_REFERRAL": S.NOT_RESPONSIBLE,
}

OPEN_STATUS_STATES = sorted(OPEN_STATES)
CLOSED_STATUS_STATES = [S.FIXED, S.CLOSED, S.DUPLICATE, S.NOT_RESPONSIBLE]


def open311_status(state: str) -> str:
    return "open" if state in OPEN_STATES else "closed"


def states_for_status(status: str) -> list[str]:
    """The Fixpoint states behind an Open311 status ("open" or "closed")."""
    return list(OPEN_STATUS_STATES) if status == "open" else list(CLOSED_STATUS_STATES)
