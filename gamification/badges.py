"""Badges with levels, computed from the ledger's live awards (an award that was reversed no
longer counts), so recomputing after a reversal takes back a level whose basis is gone."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import BadgeAward, Challenge, PointEntry, Rule


@dataclass(frozen=True)
class BadgeKind:
    code: str
    name: str | Promise  # in the reader's language when shown (names_in_language)
    thresholds: tuple[int, ...]  # the count reached for level 1, 2, ...
    description: str | Promise


VERIFIED = Q(rule=Rule.REPORT_VERIFIED)
KINDS = (
    BadgeKind(
        "reporter", pgettext_lazy("badge", "Reporter"), (1, 5, 15, 30, 60), _("verified reports")
    ),
    BadgeKind(
        "explorer",
        pgettext_lazy("badge", "Explorer"),
        (1, 3, 5, 8, 12),
        _("categories with a verified report"),
    ),
    BadgeKind(
        "neighbour",
        pgettext_lazy("badge", "Neighbour"),
        (1, 3, 5, 10, 20),
        _("neighbourhoods with a verified report"),
    ),
    BadgeKind(
        "confirmer",
        pgettext_lazy("badge", "Confirmer"),
        (1, 5, 15, 30, 60),
        _("updates staff agreed with"),
    ),
)
KINDS_BY_CODE = {kind.code: kind for kind in KINDS}
CHALLENGE_CODE = re.compile(r"challenge-([0-9]{1,18})")


def names_in_language(badges: Iterable[BadgeAward]) -> list[BadgeAward]:
    """The badges with `name` in the active language (not saved): a computed badge's from its
    kind, a challenge's from the challenge's translated badge name (one query), else as stored
    (the English written when it was awarded, or a deleted challenge's last name)."""
    badges = list(badges)
    wanted = {_challenge_id(b.code) for b in badges} - {None}
    challenges = Challenge.objects.in_bulk(wanted) if wanted else {}
    for badge in badges:
        challenge = challenges.get(_challenge_id(badge.code))
        if badge.code in KINDS_BY_CODE:
            badge.name = str(KINDS_BY_CODE[badge.code].name)
        elif challenge is not None and challenge.badge_name:
            badge.name = challenge.badge_name
    return badges


def _challenge_id(code: str) -> int | None:
    """The challenge of a badge won in one (its code is `challenge-<id>`, see services)."""
    found = CHALLENGE_CODE.fullmatch(code)
    return int(found[1]) if found else None


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
        with translation.override("en"):  # stored in English; shown through names_in_language
            name = str(kind.name)
        BadgeAward.objects.create(user_id=user_id, code=kind.code, name=name, level=level)
    elif held is not None and held.level != level:
        held.level, held.awarded_at = level, timezone.now()
        held.save(update_fields=["level", "awarded_at"])
