"""Reads for staff: colleagues, service levels, counts and internal notes. The role permissions
live in ``authorities.permissions`` and the scoping of reports in ``reports.selectors``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Value
from django.utils import timezone

from accounts.models import User
from authorities import routing
from authorities.models import Area, Category, StaffMembership
from authorities.permissions import active_user, staff_authorities
from reports.models import OPEN_STATES, AuditAction, AuditEntry, Report, ReportState


def staff_areas(user: Any) -> QuerySet[Area]:
    """The neighbourhoods of the user's authorities (every one for a superuser): those inside
    their boundaries, or tied to one of them. Without their boundaries."""
    areas = Area.objects.defer("boundary").order_by("name")
    if not active_user(user):
        return areas.none()
    if user.is_superuser:
        return areas
    mine = list(StaffMembership.objects.filter(user=user).values_list("authority_id", flat=True))
    return areas.filter(Q(pk__in=routing.area_ids_within(mine)) | Q(authority_id__in=mine))


def colleagues(user: Any) -> QuerySet[User]:
    """People a report of the user's authorities can be assigned to."""
    authorities = staff_authorities(user).values("pk")
    members = StaffMembership.objects.filter(authority_id__in=authorities).values("user_id")
    return User.objects.filter(pk__in=members, is_active=True).order_by("email")


# --- Service levels -------------------------------------------------------------------------------


def overdue_q(now: datetime | None = None) -> Q | None:
    """Reports past their category's target: still open and unverified past the time to verify,
    or not yet fixed past the time to fix (both counted from confirmation). None: no targets.

    One condition per category with a target: categories are few, and plain comparisons of
    `confirmed_at` with constants use the same SQL on SQLite and PostgreSQL.
    """
    now = now or timezone.now()
    targets = Category.objects.filter(
        Q(sla_verify_hours__isnull=False) | Q(sla_fix_hours__isnull=False)
    ).values_list("pk", "sla_verify_hours", "sla_fix_hours")
    conditions: list[Q] = []
    for category_id, verify, fix in targets:
        if verify is not None:
            since = now - timedelta(hours=verify)
            conditions.append(
                Q(category_id=category_id, state=ReportState.OPEN, confirmed_at__lt=since)
            )
        if fix is not None:
            since = now - timedelta(hours=fix)
            conditions.append(
                Q(category_id=category_id, state__in=OPEN_STATES, confirmed_at__lt=since)
            )
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


def with_overdue(reports: QuerySet[Report], now: datetime | None = None) -> QuerySet[Report]:
    """Annotate `is_overdue` (computed by the database, so a page of reports costs no more)."""
    return annotate_overdue(reports, overdue_q(now))


def annotate_overdue(reports: QuerySet[Report], condition: Q | None) -> QuerySet[Report]:
    """`with_overdue` with a condition from `overdue_q` already at hand (it costs a query)."""
    flag: Any = Value(False) if condition is None else condition
    return reports.annotate(is_overdue=ExpressionWrapper(flag, output_field=BooleanField()))


def filter_overdue(reports: QuerySet[Report], overdue: bool) -> QuerySet[Report]:
    condition = overdue_q()
    if condition is None:
        return reports.none() if overdue else reports
    return reports.filter(condition) if overdue else reports.exclude(condition)


def state_counts(reports: QuerySet[Report]) -> dict[str, int]:
    """How many of these reports are in each state (one GROUP BY)."""
    rows = reports.order_by().values_list("state").annotate(n=Count("pk"))
    found = dict(rows)
    return {state: found.get(state, 0) for state in ReportState.values}


def internal_notes(report: Report) -> QuerySet[AuditEntry]:
    """Internal notes written alone, without a change of state or a public response (kept in
    the audit log only), oldest first.

    A note written with a public response has its own history row, which already shows the
    internal note: its audit row (which also records `public_note`) is left out, so a public
    response is no "internal note" and an internal note is not shown twice.
    """
    return (
        AuditEntry.objects.filter(
            object_type=Report._meta.label,
            object_id=str(report.pk),
            action=AuditAction.EDIT,
            after__has_key="internal_note",
        )
        .exclude(after__has_key="public_note")
        .exclude(after__internal_note="")
        .select_related("actor")
        .order_by("created_at", "id")
    )
