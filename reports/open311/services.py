"""Writes that arrive over Open311, built on the reports services."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from authorities.permissions import staff_may
from reports.exceptions import InvalidTransition, NotAllowed
from reports.models import Report, ReportStateChange
from reports.services import report_transition


@transaction.atomic
def authority_update_apply(
    *, report_id: int, user: User, to_state: str, public_note: str = ""
) -> ReportStateChange:
    """An authority's own system reports a new status (mySociety's servicerequestupdates).

    The client's user must be staff of the report's authority; the move itself is made by the
    system actor, so it is recorded as the authority's system rather than as one person.
    """
    report = Report.objects.select_for_update().get(pk=report_id)
    if not staff_may(user, report.authority_id, "transition"):  # viewers only read
        raise NotAllowed(_("This API key does not act for staff of the report's authority."))
    if report.state == to_state:
        raise InvalidTransition(
            f"The report is already {to_state}; send a different status "
            "(comments without a status change are not taken over Open311)."
        )
    report_transition(report_id=report.pk, to_state=to_state, actor=None, public_note=public_note)
    return ReportStateChange.objects.filter(report_id=report.pk).order_by("-created_at", "-id")[0]
