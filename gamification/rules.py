"""The award rules: listeners of reports' announcements (connected in GamificationConfig.ready).

They run inside the transaction that changed the report, with its row locked, so points commit
or roll back with the change and two staff members verifying at once cannot both award.
Only verified facts earn: a staff member's (or the authority's own system's) decision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _

from authorities import selectors as authority_selectors
from reports.models import Actor, Opinion, Report, ReportState, ReportStateChange, ReportUpdate

from . import services
from .models import GameSettings, Rule

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
    game = GameSettings.load()
    handler = HANDLERS.get(change.to_state)
    if handler is not None:
        handler(report, change, game)
    _confirmations(report, change, game)


def _earner(report: Report, user_id: int | None) -> int | None:
    """Who may earn from this report: not nobody, not its authority's own staff, and only for a
    confirmed report."""
    if user_id is None or report.confirmed_at is None:
        return None
    if authority_selectors.is_staff_of(_user(user_id), report.authority_id):
        return None
    return user_id


def _user(user_id: int) -> Any:
    from accounts.models import User

    return User.objects.get(pk=user_id)


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
    services.report_points_reverse(report=report, reason=_("the report was marked as spam"))
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
        reason = _("the report duplicated %(ref)s") % {"ref": original.ref}
        services.report_points_reverse(report=report, reason=reason)


def _confirmations(report: Report, change: ReportStateChange, game: GameSettings) -> None:
    opinion: str | None = AGREES.get(change.to_state)
    if change.to_state == S.OPEN and change.from_state == S.FIXED:
        opinion = Opinion.STILL_A_PROBLEM  # staff reopened: it was still there
    if opinion is None:
        return
    updates = report.updates.filter(
        opinion=opinion, is_hidden=False, author__isnull=False, created_at__lte=change.created_at
    ).exclude(author_id=report.reporter_id)
    # Each person's first such update only: posting "still there" ten times earns once.
    first: dict[int, ReportUpdate] = {}
    for update in updates.order_by("id"):
        first.setdefault(update.author_id, update)  # type: ignore[arg-type]  # not null here
    for author_id, update in first.items():
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
