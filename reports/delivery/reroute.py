"""Re-routing: staff (or the system) re-categorise or move an open report, and when another
authority becomes responsible the report is handed over with a delivery to the new one."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from authorities import routing
from authorities.models import Authority, Category
from reports.audit import audit_record
from reports.exceptions import NotAllowed
from reports.models import OPEN_STATES, AuditAction, Report
from reports.services import Amendment, report_transition

from .outbox import deliveries_create


@transaction.atomic
def report_reroute(
    *,
    report_id: int,
    category: Category | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    actor: User | None,
) -> Report:
    """Re-categorise and/or move an open report and route it again.

    When another authority becomes responsible the report is handed over: its authority changes,
    the history gets a row with a public note saying so (the state stays: a history row from a
    state to itself, recorded by report_transition, which locks the row and checks the
    "recategorise" permission), and a Delivery to the new authority is written, sent after
    commit. A change that keeps the authority only gets the note. `actor` is staff of the
    report's authority (or a superuser); None is the system.
    """
    reroute = _Reroute(category, latitude, longitude, actor)
    report = report_transition(
        report_id=report_id, actor=actor, permission="recategorise", amend=reroute
    )
    # The change is announced like any public change (subscribers hear of it, map tiles follow);
    # the delivery receiver ignores it (the report was already open), so the Delivery is here.
    if reroute.handed_over:
        deliveries_create(report=report)
    return report


@dataclass
class _Reroute:
    """The re-route of one locked report, for report_transition's ``amend``."""

    category: Category | None
    latitude: float | None
    longitude: float | None
    actor: User | None
    handed_over: bool = False

    def __call__(self, report: Report) -> Amendment | None:
        if report.state not in OPEN_STATES:
            raise NotAllowed(
                _("Report %(ref)s is “%(state)s”: only open reports are re-routed.")
                % {"ref": report.ref, "state": report.get_state_display()}
            )
        old_authority, old_category = report.authority, report.category
        category = self.category or old_category
        lat = report.latitude if self.latitude is None else float(self.latitude)
        lon = report.longitude if self.longitude is None else float(self.longitude)
        authority = routing.responsible_authority(lat, lon, category.pk)  # NoAuthorityHere, etc.
        area = routing.get_index().area_at(lat, lon)
        before = (old_authority.pk, old_category.pk, report.latitude, report.longitude)
        if before == (authority.id, category.pk, lat, lon):
            return None
        report.category, report.latitude, report.longitude = category, lat, lon
        report.authority_id, report.area_id = authority.id, area.id if area else None
        unassigned = _unassign_on_handover(report, old_authority, authority, self.actor)
        # Moved into a non-public category it becomes private; never public by a move (staff
        # decide).
        report.is_private = report.is_private or category.non_public
        self.handed_over = authority.id != old_authority.pk
        note = _reroute_note(old_authority.name, old_category, authority.name, category)
        return Amendment(note, unassigned)


def _unassign_on_handover(
    report: Report, old: Authority, new: routing.AuthorityRef, actor: User | None
) -> str:
    """A report handed to another authority arrives unassigned: its assignee works for the old
    one, and the new one decides who works on it. Audited as an assignment (at the old
    authority, where it was made); returns the internal note for the history, or ""."""
    assignee = report.assignee
    if new.id == old.pk or assignee is None:
        return ""
    report.assignee = None
    audit_record(
        actor=actor,
        action=AuditAction.ASSIGNMENT,
        obj=report,
        authority=old.pk,
        before={"assignee": assignee.email},
        after={"assignee": None},
    )
    return f"No longer assigned to {assignee.email}: {new.name} decides who works on it."


def _reroute_note(old_authority: str, old_category: Category, authority: str, new: Category) -> str:
    parts = []
    if new.pk != old_category.pk:
        parts.append(f"Re-categorised from {old_category.name} to {new.name}.")
    if authority != old_authority:
        parts.append(f"Passed from {old_authority} to {authority}, which is responsible here.")
    return " ".join(parts) or "Moved to a corrected location."
