"""Who may do what at an authority: the staff roles' permission table and the checks every
staff page, API endpoint, admin view and service asks. They live beside the memberships they
read, so that the core of ``reports`` asks them without importing its staff package.

May import: ``accounts``, ``authorities.models``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Authority, StaffMembership, StaffRole

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


def active_user(user: Any) -> bool:
    """A signed-in, active account (an anonymous visitor or a disabled account may do nothing)."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def staff_authorities(user: Any) -> QuerySet[Authority]:
    """The authorities a user works for (all for a superuser), without their boundaries."""
    authorities = Authority.objects.defer("boundary").order_by("name")
    if not active_user(user):
        return authorities.none()
    if user.is_superuser:
        return authorities
    return authorities.filter(memberships__user=user).distinct()


def membership_role(user: Any, authority_id: int | None) -> str | None:
    """The user's role at an authority: a superuser counts as administrator everywhere."""
    if not active_user(user) or authority_id is None:
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
    if not active_user(user):
        return False
    if user.is_superuser:
        return True
    roles = StaffMembership.objects.filter(user=user).values_list("role", flat=True)
    return any(role_may(str(role), permission) for role in roles)


def is_staff_user(user: Any) -> bool:
    """Anybody with a staff page to see: a superuser or a member of some authority."""
    if not active_user(user):
        return False
    return bool(user.is_superuser or StaffMembership.objects.filter(user=user).exists())


def is_staff_of(user: Any, authority_id: int) -> bool:
    """Whether the user is a member of that authority (any role; a superuser is of every one)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return StaffMembership.objects.filter(user=user, authority_id=authority_id).exists()
