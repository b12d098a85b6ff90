"""The award rules: listeners of reports' announcements (connected in GamificationConfig.ready).

They run inside the transaction that changed the report, with its row locked, so points commit
or roll back with the change and two staff members verifying at once cannot both award.
Only verified facts earn: a staff member's (or the authority's own system's) decision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db.models import Q

from accounts.models import User
from reports.models import Actor, Opinion, Report, ReportState, ReportStateChange, ReportUpdate

from . import services
from .models import GameSettings, PointEntry, Reason, Rule

S = ReportState
DECIDERS = frozenset({Actor.STAFF, Actor.SYSTEM})
# The citizens' opinion a staff decision agrees with (and staff reopening a fixed report).
AGREES: dict[str, str] = {
    S.FIXED: Opinion.FIXED,
    S.VERIFIED: Opinion.STILL_A_PROBLEM,
    S.IN_PROGRESS: Opinion.STILL_A_PROBLEM,
}


def on_report_state_changed(
    sender: Any, report: Report, change: ReportStateChange, **kwargs: Any
) -> None:
    if not services.game_on() or change.actor_kind not in DECIDERS or not change.from_state:
        return
    handler = HANDLERS.get(change.to_state)
    opinion = _agreed_opinion(change)
    if handler is None and opinion is None:
        return
    services.players_lock(user_ids=_involved(report))
    game = GameSettings.load()
    if handler is not None:
        handler(report, change, game)
    if opinion is not None:
        _confirmations(report, change, game, opinion)


def _agreed_opinion(change: ReportStateChange) -> str | None:
    if change.to_state == S.OPEN and change.from_state == S.FIXED:
        return Opinion.STILL_A_PROBLEM  # staff reopened: it was still there
    return AGREES.get(change.to_state)


def _involved(report: Report) -> set[int]:
    """Everybody whose points this change may touch: the reporter, citizens who gave an
    opinion, and whoever already has entries for the report."""
    opinions = report.updates.exclude(opinion="").filter(author__isnull=False)
    people = set(opinions.values_list("author_id", flat=True))
    people |= set(PointEntry.objects.filter(report=report).values_list("user_id", flat=True))
    if report.reporter_id is not None:
        people.add(report.reporter_id)
    return {uid for uid in people if uid is not None}


def _earner(report: Report, user_id: int | None) -> int | None:
    """Who may earn from this report: not nobody, not its authority's own staff (superusers are
    staff everywhere), and only for a confirmed report."""
    if user_id is None or report.confirmed_at is None:
        return None
    staff = Q(is_superuser=True) | Q(memberships__authority_id=report.authority_id)
    if User.objects.filter(staff, pk=user_id).exists():
        return None
    return user_id


def _verified(report: Report, change: ReportStateChange, game: GameSettings) -> None:
    user_id = _earner(report, report.reporter_id)
    if user_id is None:
        return
    awarded = services.points_award(
        user_id=user_id,
        rule=Rule.REPORT_VERIFIED,
        amount=game.points_verified,
        target=report,
        cap=game.cap_verified,
        at=change.created_at,
    )
    if awarded is not None and _first_in_area(report, change, game):
        services.points_award(
            user_id=user_id,
            rule=Rule.FIRST_IN_AREA,
            amount=game.points_first_in_area,
            target=report,
            cap=game.cap_first_in_area,
            at=change.created_at,
        )


def _first_in_area(report: Report, change: ReportStateChange, game: GameSettings) -> bool:
    if report.area_id is None:
        return False
    since = change.created_at - timedelta(days=game.first_in_area_days)
    others = Report.objects.filter(
        area_id=report.area_id, verified_at__gte=since, verified_at__lte=change.created_at
    )
    return not others.exclude(pk=report.pk).exclude(state__in=(S.SPAM, S.DUPLICATE)).exists()


def _fixed(report: Report, change: ReportStateChange, game: GameSettings) -> None:
    user_id = _earner(report, report.reporter_id)
    if user_id is None or report.verified_at is None:
        return
    services.points_award(
        user_id=user_id,
        rule=Rule.REPORT_FIXED,
        amount=game.points_fixed,
        target=report,
        cap=game.cap_fixed,
        at=change.created_at,
    )


def _spam(report: Report, change: ReportStateChange, game: GameSettings) -> None:
    services.report_points_reverse(report=report, reason=Reason.SPAM)
    user_id = _earner(report, report.reporter_id)
    if user_id is not None and game.spam_penalty:
        services.points_award(
            user_id=user_id,
            rule=Rule.SPAM_PENALTY,
            amount=-game.spam_penalty,
            target=report,
            at=change.created_at,
        )


def _duplicate(report: Report, change: ReportStateChange, game: GameSettings) -> None:
    # Only a duplicate of something already public when this was filed: the reporter could have
    # seen it. Reporting in parallel is not their fault.
    original = report.duplicate_of
    if original is None or original.confirmed_at is None:
        return
    if original.confirmed_at <= report.created_at:
        services.report_points_reverse(
            report=report, reason=Reason.DUPLICATE, original_ref=original.ref
        )


def _confirmations(
    report: Report, change: ReportStateChange, game: GameSettings, opinion: str
) -> None:
    updates = report.updates.filter(
        opinion=opinion, is_hidden=False, author__isnull=False, created_at__lte=change.created_at
    ).exclude(author_id=report.reporter_id)
    # Each person's first such update only: posting "still there" ten times earns once.
    first: dict[int, ReportUpdate] = {}
    for update in updates.order_by("id"):
        first.setdefault(update.author_id, update)  # type: ignore[arg-type]  # not null here
    for author_id, update in sorted(first.items()):
        user_id = _earner(report, author_id)
        if user_id is not None:
            services.points_award(
                user_id=user_id,
                rule=Rule.CONFIRMATION,
                amount=game.points_confirmation,
                target=update,
                cap=game.cap_confirmation,
                at=change.created_at,
            )


Handler = Callable[[Report, ReportStateChange, GameSettings], None]
HANDLERS: dict[str, Handler] = {
    S.VERIFIED: _verified,
    S.FIXED: _fixed,
    S.SPAM: _spam,
    S.DUPLICATE: _duplicate,
}
