"""Re-routing: staff (or the system) re-categorise or move an open report, and when another
authority becomes responsible the report is handed over with a delivery to the new one."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from authorities import routing
from authorities.models import Authority, Category
from authorities.permissions import staff_may
from reports.audit import audit_record
from reports.exceptions import NotAllowed
from reports.models import OPEN_STATES, Actor, AuditAction, Report, ReportStateChange
from reports.signals import report_state_changed

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
    state to itself), and a Delivery to the new authority is written, sent after commit. A change
    that keeps the authority only gets the note. `actor` is staff of the report's authority (or a
    superuser); None is the system.
    """
    report = (
        Report.objects.select_for_update(of=("self",))
        .select_related("category", "authority", "assignee")
        .get(pk=report_id)
    )
    _check_may_reroute(report, actor)
    before = (report.authority, report.category, report.latitude, report.longitude)
    category = category or report.category
    lat = report.latitude if latitude is None else float(latitude)
    lon = report.longitude if longitude is None else float(longitude)
    authority = routing.responsible_authority(lat, lon, category.pk)  # NoAuthorityHere, etc.
    area = routing.get_index().area_at(lat, lon)
    if (before[0].pk, before[1].pk, before[2], before[3]) == (authority.id, category.pk, lat, lon):
        return report
    report.category, report.latitude, report.longitude = category, lat, lon
    report.authority_id, report.area_id = authority.id, area.id if area else None
    report.updated_at = timezone.now()
    unassigned = _unassign_on_handover(report, before[0], authority, actor)
    # Moved into a non-public category it becomes private; never public by a move (staff decide).
    report.is_private = report.is_private or category.non_public
    report.save(
        update_fields=[
            "is_private",
            "category",
            "latitude",
            "longitude",
            "authority",
            "area",
            "assignee",
            "updated_at",
        ]
    )
    note = _reroute_note(before[0].name, before[1], authority.name, category)
    _record_reroute(report, actor, note, unassigned)
    if authority.id != before[0].pk:
        deliveries_create(report=report)
    return report


def _check_may_reroute(report: Report, actor: User | None) -> None:
    if actor is not None and not staff_may(actor, report.authority_id, "recategorise"):
        raise NotAllowed("Only staff of the report's authority can re-route it.")
    if report.state not in OPEN_STATES:
        raise NotAllowed(f"Report {report.ref} is {report.state}: only open reports are re-routed.")


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


def _record_reroute(report: Report, actor: User | None, note: str, internal_note: str) -> None:
    change = ReportStateChange.objects.create(
        report=report,
        from_state=report.state,
        to_state=report.state,
        actor=actor,
        actor_kind=Actor.SYSTEM if actor is None else Actor.STAFF,
        public_note=note,
        internal_note=internal_note,
        created_at=report.updated_at,
    )
    # Announced like any public change: subscribers hear of it, map tiles follow. The delivery
    # receiver ignores it (the report was already open), so the new Delivery is written above.
    report_state_changed.send(sender=Report, report=report, change=change)
