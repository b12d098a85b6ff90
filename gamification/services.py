"""Writes of the game: the ledger, preferences, prizes and challenges.

Every change of points goes through `_write`, which holds the player's row locked: the balance
cache, the daily caps and the "exactly once" check are all decided under that one lock.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from reports.models import Report, ReportUpdate
from reports.services import REF_ALPHABET

from . import badges, selectors
from .exceptions import (
    GamificationOff,
    LimitReached,
    NotEnoughPoints,
    OutOfStock,
    RewardUnavailable,
)
from .models import (
    BadgeAward,
    Challenge,
    GameSettings,
    Player,
    PointEntry,
    Reason,
    Redemption,
    Reward,
    Rule,
)

CODE_ALPHABET = REF_ALPHABET  # no 0/O, 1/I: read out at a counter, like a report's reference
Target = Report | ReportUpdate | Challenge | Redemption


def game_on() -> bool:
    """The deployment's switch (GAMIFICATION): every page, endpoint and award asks here."""
    return bool(settings.FIXPOINT_GAMIFICATION)


def entry_key(rule: str, user_id: int, target: Target, detail: str = "") -> str:
    """The one key per rule, user and object that makes an award happen at most once."""
    key = f"{rule}:{user_id}:{target._meta.model_name}-{target.pk}"
    return f"{key}:{detail}" if detail else key


@transaction.atomic
def points_award(
    *,
    user_id: int,
    rule: str,
    amount: int,
    target: Target,
    key_detail: str = "",
    cap: int | None = None,
    at: datetime | None = None,
) -> PointEntry | None:
    """Award (or, negative, charge) points once per rule, user and object.

    Returns None when it had already happened, the game is off or the person does not play.
    Past the daily cap of the rule the fact is still recorded, with 0 points, so the person sees
    why and badges still count it.
    """
    if not game_on():
        return None
    player = _locked_player(user_id)
    key = entry_key(rule, user_id, target, key_detail)
    if not player.is_playing or PointEntry.objects.filter(key=key).exists():
        return None
    at = at or timezone.now()
    reason = ""
    if cap is not None and amount > 0 and _awards_on_day(user_id, rule, at) >= cap:
        amount, reason = 0, Reason.DAILY_LIMIT
    return _write(player, amount=amount, rule=rule, key=key, target=target, at=at, reason=reason)


@transaction.atomic
def points_reverse(
    *, entry: PointEntry, reason: str = "", original_ref: str = ""
) -> PointEntry | None:
    """Cancel an entry with a new, linked one (whether or not the person still plays).
    `reason` is a Reason; `original_ref` the report a duplicate duplicated."""
    player = _locked_player(entry.user_id)
    if PointEntry.objects.filter(reverses=entry).exists():
        return None
    return _write(
        player,
        amount=-entry.amount,
        rule=Rule.REVERSAL,
        key=f"{Rule.REVERSAL}:{entry.pk}",
        target=None,
        at=entry.effective_at,
        reason=reason,
        original_ref=original_ref,
        reverses=entry,
    )


def report_points_reverse(*, report: Report, reason: str, original_ref: str = "") -> int:
    """Reverse every award tied to a report (not penalties, not reversals). Returns how many."""
    awards = (
        PointEntry.objects.filter(report=report, reverses__isnull=True, reversed_by__isnull=True)
        .exclude(rule=Rule.SPAM_PENALTY)
        .order_by("id")
    )
    return sum(
        1
        for entry in awards
        if points_reverse(entry=entry, reason=reason, original_ref=original_ref)
    )


def players_lock(*, user_ids: Iterable[int]) -> None:
    """Lock several people's balance rows at once, in id order. A report change may touch many
    people (its reporter, confirmers, reversals); taking their locks in one order means two such
    changes can never wait on each other in a circle."""
    ids = sorted(set(user_ids))
    if ids:
        Player.objects.bulk_create([Player(user_id=i) for i in ids], ignore_conflicts=True)
        list(Player.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))


def _locked_player(user_id: int) -> Player:
    Player.objects.get_or_create(user_id=user_id)
    return Player.objects.select_for_update().get(user_id=user_id)


def _awards_on_day(user_id: int, rule: str, at: datetime) -> int:
    day = selectors.day_start(at)
    return PointEntry.objects.filter(
        user_id=user_id,
        rule=rule,
        amount__gt=0,
        effective_at__gte=day,
        effective_at__lt=day + timedelta(days=1),
    ).count()


def _write(
    player: Player,
    *,
    amount: int,
    rule: str,
    key: str,
    target: Target | None,
    at: datetime,
    reason: str = "",
    original_ref: str = "",
    reverses: PointEntry | None = None,
) -> PointEntry:
    links = _links(target) if reverses is None else _links_of(reverses)
    entry = PointEntry.objects.create(
        user_id=player.user_id,
        amount=amount,
        rule=rule,
        key=key,
        reason=reason,
        original_ref=original_ref,
        reverses=reverses,
        effective_at=at,
        **links,
    )
    Player.objects.filter(pk=player.pk).update(balance=F("balance") + amount)
    badges.badges_recompute(user_id=player.user_id)
    return entry


def _links(target: Target | None) -> dict[str, object]:
    if isinstance(target, ReportUpdate):
        return {"update": target, "report_id": target.report_id}
    if isinstance(target, Report):
        return {"report": target}
    if isinstance(target, Challenge):
        return {"challenge": target}
    if isinstance(target, Redemption):
        return {"redemption": target}
    return {}


def _links_of(entry: PointEntry) -> dict[str, object]:
    return {
        "report_id": entry.report_id,
        "update_id": entry.update_id,
        "challenge_id": entry.challenge_id,
    }


# --- the cache -------------------------------------------------------------------------------


@transaction.atomic
def balances_rebuild(*, user_ids: list[int] | None = None) -> int:
    """Set every cached balance to the sum of its ledger. Returns how many were wrong."""
    players = Player.objects.select_for_update().order_by("pk")
    if user_ids is not None:
        players = players.filter(pk__in=user_ids)
    sums = dict(
        PointEntry.objects.filter(user_id__in=players.values("pk"))
        .values_list("user_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    fixed = 0
    for player in players:
        total = sums.get(player.pk, 0)
        if player.balance != total:
            Player.objects.filter(pk=player.pk).update(balance=total)
            fixed += 1
    return fixed


# --- preferences and notices ---------------------------------------------------------------


@transaction.atomic
def player_preferences_set(
    *, user_id: int, is_playing: bool, is_public: bool, board_name: str = ""
) -> Player:
    """Raises ValidationError (Player's own rules: a public player needs a name, at most 40
    characters) before anything is locked or written."""
    wanted = Player(is_playing=is_playing, is_public=is_public, board_name=board_name)
    wanted.full_clean(exclude=["user"], validate_unique=False)  # Player.clean strips the name
    player = _locked_player(user_id)
    player.is_playing, player.board_name = is_playing, wanted.board_name
    player.is_public = is_public and is_playing  # somebody who does not play appears nowhere
    player.save(update_fields=["is_playing", "is_public", "board_name"])
    return player


def notices_take(*, user_id: int) -> selectors.PointsNews | None:
    """What changed in a person's points since they last looked, summed up in one line, once.

    One query on every page a signed-in person sees (and an update when there is news; one more
    to word a single entry as itself).
    """
    rows = list(
        PointEntry.objects.filter(user_id=user_id, id__gt=F("user__player__seen_entry_id"))
        .exclude(amount=0)
        .exclude(rule=Rule.REDEMPTION)
        .values("rule")
        .annotate(count=Count("id"), total=Sum("amount"), lowest=Min("amount"), newest=Max("id"))
        .order_by("rule")
    )
    if not rows:
        return None
    newest = max(row["newest"] for row in rows)
    Player.objects.filter(pk=user_id, seen_entry_id__lt=newest).update(seen_entry_id=newest)
    rules = [
        selectors.RuleNews(row["rule"], row["count"], row["total"], row["lowest"]) for row in rows
    ]
    single = PointEntry.objects.get(pk=newest) if sum(r.count for r in rules) == 1 else None
    return selectors.points_news(rules, single)


# --- prizes ----------------------------------------------------------------------------------


@transaction.atomic
def reward_redeem(*, reward_id: int, user_id: int, at: datetime | None = None) -> Redemption:
    """Spend points on a prize and get its code.

    Locks the reward, then the person's balance row, always in that order (awards lock only the
    balance row, so no two paths can wait on each other): with any number of concurrent requests
    the stock never goes below zero and nobody spends points they do not have.
    """
    if not game_on():
        raise GamificationOff(_("The game is switched off."))
    at = at or timezone.now()
    reward = Reward.objects.select_for_update().filter(pk=reward_id, is_approved=True).first()
    _check_available(reward, at)
    assert reward is not None  # noqa: S101  # _check_available refused None; for mypy
    player = _locked_player(user_id)
    _check_may_redeem(reward, player)
    redemption = Redemption.objects.create(
        reward=reward, user_id=user_id, code=_new_code(), cost=reward.cost, created_at=at
    )
    Reward.objects.filter(pk=reward.pk).update(stock=F("stock") - 1)
    key = entry_key(Rule.REDEMPTION, user_id, redemption)
    _write(player, amount=-reward.cost, rule=Rule.REDEMPTION, key=key, target=redemption, at=at)
    return redemption


def _check_available(reward: Reward | None, at: datetime) -> None:
    if (
        reward is None
        or reward.valid_from > at
        or (reward.valid_until and reward.valid_until <= at)
    ):
        raise RewardUnavailable(_("This prize is not available."))
    if reward.stock < 1:
        raise OutOfStock(_("This prize has run out."))


def _check_may_redeem(reward: Reward, player: Player) -> None:
    if not player.is_playing:
        raise GamificationOff(_("You have switched the game off for yourself."))
    if Redemption.objects.filter(reward=reward, user_id=player.pk).count() >= reward.per_user_limit:
        raise LimitReached(_("You already have as many of this prize as one person may."))
    if player.balance < reward.cost:
        raise NotEnoughPoints(
            _("This prize costs %(cost)d points; you have %(balance)d.")
            % {"cost": reward.cost, "balance": player.balance}
        )


def _new_code() -> str:
    while True:
        code = "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))
        if not Redemption.objects.filter(code=code).exists():
            return code


@transaction.atomic
def catalogue_save(*, obj: Reward | Challenge, changed: Iterable[str]) -> Reward | Challenge:
    """Save a prize or challenge edited by an administrator, writing only the fields they changed:
    a form loaded before redemptions (or a settlement) must not put back the old stock (or
    un-settle the challenge) when it is saved."""
    obj.full_clean()
    if obj.pk is None:
        obj.save()
        return obj
    type(obj).objects.select_for_update().filter(pk=obj.pk).first()  # wait for running redemptions
    fields = [name for name in changed if name in _concrete_fields(obj)]
    if fields:
        obj.save(update_fields=fields)
    return obj


def _concrete_fields(obj: Reward | Challenge) -> set[str]:
    return {f.name for f in obj._meta.concrete_fields}


@transaction.atomic
def reward_stock_add(*, reward_id: int, amount: int) -> Reward:
    """Add prizes to the stock (or, negative, take some away), relative to what redemptions left."""
    reward = Reward.objects.select_for_update().get(pk=reward_id)
    if reward.stock + amount < 0:
        raise ValidationError(
            {"add_stock": _("Only %(n)d left to take away.") % {"n": reward.stock}}
        )
    Reward.objects.filter(pk=reward_id).update(stock=F("stock") + amount)
    reward.refresh_from_db()
    return reward


# --- challenges ------------------------------------------------------------------------------


@transaction.atomic
def challenge_settle(*, challenge_id: int, now: datetime | None = None) -> int:
    """Hand out a challenge's bonus and badge, once, after the settling period.

    Returns the number of winners (0 if it is not yet time or it was already settled).
    """
    now = now or timezone.now()
    challenge = Challenge.objects.select_for_update().get(pk=challenge_id)
    due = challenge.ends_at + timedelta(days=GameSettings.load().settling_days)
    if challenge.settled_at is not None or now < due:
        return 0
    winners = selectors.challenge_winners(challenge)
    for user_id in winners:
        _challenge_reward(challenge, user_id, now)
    Challenge.objects.filter(pk=challenge.pk).update(settled_at=now)
    return len(winners)


def challenges_settle_due(*, now: datetime | None = None) -> int:
    """Settle every challenge whose settling period is over. Returns the number of winners."""
    now = now or timezone.now()
    latest_end = now - timedelta(days=GameSettings.load().settling_days)
    due = Challenge.objects.filter(settled_at__isnull=True, ends_at__lte=latest_end)
    return sum(
        challenge_settle(challenge_id=pk, now=now) for pk in due.values_list("pk", flat=True)
    )


def _challenge_reward(challenge: Challenge, user_id: int, now: datetime) -> None:
    if challenge.bonus_points:
        points_award(
            user_id=user_id,
            rule=Rule.CHALLENGE_BONUS,
            amount=challenge.bonus_points,
            target=challenge,
            at=now,
        )
    if challenge.badge_name and game_on():
        BadgeAward.objects.get_or_create(
            user_id=user_id,
            code=f"challenge-{challenge.pk}",
            defaults={"name": challenge.badge_name, "awarded_at": now},
        )
