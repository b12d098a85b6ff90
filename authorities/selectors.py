"""Reads about authorities with access scoping."""

from __future__ import annotations

from typing import Any

from .models import StaffMembership


def staff_authority_ids(user: Any) -> set[int]:
    """The authorities a user works for (empty for citizens and anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(StaffMembership.objects.filter(user=user).values_list("authority_id", flat=True))


def is_staff_of(user: Any, authority_id: int) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return StaffMembership.objects.filter(user=user, authority_id=authority_id).exists()
