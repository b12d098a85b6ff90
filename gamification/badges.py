"""Badges with levels, computed from the ledger's live awards (an award that was reversed no
longer counts), so recomputing after a reversal takes back a level whose basis is gone."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from .models import BadgeAward, PointEntry, Rule


@dataclass(frozen=True)
class BadgeKind:
    code: str
    name: str
    thresholds: tuple[int, ...]  # the count reached for level 1, 2, ...
    description: str


VERIFIED = Q(rule=Rule.REPORT_VERIFIED)
KINDS = (
    BadgeKind("reporter", "Reporter", (1, 5, 15, 30, 60), "verified reports"),
    BadgeKind("explorer", "Explorer", (1, 3, 5, 8, 12), "categories with a verified report"),
    BadgeKind("neighbour", "Neighbour", (1, 3, 5, 10, 20), "neighbourhoods with a verified report"),
    BadgeKind("confirmer", "Confirmer", (1, 5, 15, 30, 60), "updates staff agreed with"),
)


def badge_counts(user_id: int) -> dict[str, int]:
    """What each badge counts, for one person, in one query."""
    live = PointEntry.objects.filter(
        user_id=user_id, reverses__isnull=True, reversed_by__isnull=True
    )
    counts = live.aggregate(
        reporter=Count("id", filter=VERIFIED),
        explorer=Count("report__category", filter=VERIFIED, distinct=True),
        neighbour=Count("report__area", filter=VERIFIED, distinct=True),
        confirmer=Count("id", filter=Q(rule=Rule.CONFIRMATION)),
    )
    return {code: int(value or 0) for code, value in counts.items()}


def level_for(kind: BadgeKind, count: int) -> int:
    return sum(1 for threshold in kind.thresholds if count >= threshold)


def badges_recompute(*, user_id: int) -> None:
    """Bring a person's computed badges in line with the ledger (called in the transaction that
    changed it). Challenge badges are not computed and are left alone."""
    counts = badge_counts(user_id)
    held = {b.code: b for b in BadgeAward.objects.filter(user_id=user_id, code__in=counts)}
    for kind in KINDS:
        _set_level(user_id, kind, level_for(kind, counts[kind.code]), held.get(kind.code))


def _set_level(user_id: int, kind: BadgeKind, level: int, held: BadgeAward | None) -> None:
    if held is not None and level == 0:
        held.delete()
    elif held is None and level > 0:
        BadgeAward.objects.create(user_id=user_id, code=kind.code, name=kind.name, level=level)
    elif held is not None and held.level != level:
        held.level, held.awarded_at = level, timezone.now()
        held.save(update_fields=["level", "awarded_at"])
