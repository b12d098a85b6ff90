"""Writes that arrive over Open311, built on the reports services."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from reports.models import (
    OPEN_STATES,
    Opinion,
    Report,
    ReportState,
    ReportStateChange,
    ReportUpdate,
)
from reports.services import report_transition, report_update_add

from .states import INCOMING_STATUS


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


@transaction.atomic
def filer_update_add(
    *, report_id: int, user: User, status: str, text: str, name: str = "", show_name: bool = False
) -> ReportUpdate:
    """A citizen's update passed on by the account that filed the report (another Fixpoint, or
    a FixMyStreet, sending what its citizens add by mySociety's servicerequestupdates POST).

    It is a citizen's update by that account, under the citizen's name. ``status`` is the
    request's status on the sender's side after the update: one that is open again while the
    report here is fixed is the reporter's "still a problem", which reopens it with the text as
    the reason (report_update_add moves it when the account is the reporter). Any other status
    moves nothing: a citizen's word does not close or fix the authority's report.
    """
    report = Report.objects.select_for_update().only("state").get(pk=report_id)
    reopening = report.state == ReportState.FIXED and INCOMING_STATUS[status] in OPEN_STATES
    return report_update_add(
        report_id=report_id,
        author=user,
        author_name=name,
        text=text,
        opinion=Opinion.STILL_A_PROBLEM if reopening else Opinion.NONE,
        show_name=show_name,
    )
