"""Reads for staff, scoped to the authorities a user works for, and the role permissions."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Value
from django.utils import timezone

from accounts.models import User
from authorities.models import Authority, Category, StaffMembership, StaffRole
from config import params
from reports.exceptions import NoSuchOriginal
from reports.models import (
    HIDDEN_STATES,
    OPEN_STATES,
    AuditAction,
    AuditEntry,
    Report,
    ReportState,
)

ADMIN = StaffRole.ADMINISTRATOR
ALL_ROLES = frozenset({ADMIN, StaffRole.INSPECTOR, StaffRole.VIEWER})
WORKERS = frozenset({ADMIN, StaffRole.INSPECTOR})
# What each role may do to a report of its authority (docs/staff.md has the table).
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": ALL_ROLES,
    "export": ALL_ROLES,
    "transition": WORKERS,
    "note": WORKERS,
    "assign": WORKERS,
    "priority": WORKERS,
    "recategorise": WORKERS,
    "duplicate": WORKERS,
    "spam": WORKERS,
    "moderate": WORKERS,
    "privacy": WORKERS,
    "file_on_behalf": WORKERS,
    "bulk": WORKERS,
    "resend": frozenset({ADMIN}),
    "audit": frozenset({ADMIN}),
    "templates": frozenset({ADMIN}),
}


def _is_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def staff_authorities(user: Any) -> QuerySet[Authority]:
    """The authorities a user works for (all for a superuser), without their boundaries."""
    authorities = Authority.objects.defer("boundary").order_by("name")
    if not _is_user(user):
        return authorities.none()
    if user.is_superuser:
        return authorities
    return authorities.filter(memberships__user=user).distinct()


def reports_visible_to(user: Any) -> QuerySet[Report]:
    """Reports of the user's authorities (every report for a superuser, none for anybody else)."""
    reports = Report.objects.with_related()
    if not _is_user(user):
        return reports.none()
    if user.is_superuser:
        return reports
    mine = StaffMembership.objects.filter(user=user).values("authority_id")
    return reports.filter(authority_id__in=mine)


def duplicate_originals(actor: Any) -> QuerySet[Report]:
    """The reports `actor` may name as the original of a duplicate: the public ones among the
    reports they see as staff (any public report for a superuser, and for the system: None).

    The one rule for the work page, the API, the admin and report_transition itself."""
    reports = Report.objects.all() if actor is None else reports_visible_to(actor)
    return reports.exclude(state__in=HIDDEN_STATES)


def find_duplicate_original(actor: Any, reference: str) -> Report:
    """The report `reference` (its ref, or its id) names, if `actor` may name it as an original;
    otherwise NoSuchOriginal, the same for a report that is hidden, out of sight or not there."""
    text = reference.strip().upper()
    candidates = duplicate_originals(actor)
    original = candidates.filter(ref=text).first()
    if original is None:  # refs are tried first
        with contextlib.suppress(params.InvalidParameter):
            original = candidates.filter(pk=params.whole_number(text, "duplicate_of")).first()
    if original is None:
        raise NoSuchOriginal()
    return original


def membership_role(user: Any, authority_id: int | None) -> str | None:
    """The user's role at an authority: a superuser counts as administrator everywhere."""
    if not _is_user(user) or authority_id is None:
        return None
    if user.is_superuser:
        return str(ADMIN)
    role = (
        StaffMembership.objects.filter(user=user, authority_id=authority_id)
        .values_list("role", flat=True)
        .first()
    )
    return str(role) if role else None


def role_may(role: str | None, permission: str) -> bool:
    return role is not None and role in PERMISSIONS[permission]


def staff_may(user: Any, authority_id: int | None, permission: str) -> bool:
    """Whether the user may do this (a key of PERMISSIONS) to a report of that authority."""
    return role_may(membership_role(user, authority_id), permission)


def staff_may_somewhere(user: Any, permission: str) -> bool:
    """Whether the user's role at some authority (any, for a superuser) allows ``permission``."""
    if not _is_user(user):
        return False
    if user.is_superuser:
        return True
    roles = StaffMembership.objects.filter(user=user).values_list("role", flat=True)
    return any(role_may(str(role), permission) for role in roles)


def is_staff_user(user: Any) -> bool:
    """Anybody with a staff page to see: a superuser or a member of some authority."""
    if not _is_user(user):
        return False
    return bool(user.is_superuser or StaffMembership.objects.filter(user=user).exists())


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
    condition = overdue_q(now)
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
