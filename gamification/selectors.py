"""Reads of the game: leaderboards, challenge progress, the profile and the prize catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, ngettext_lazy

from authorities.models import Area

from .badges import names_in_language
from .models import (
    BadgeAward,
    Challenge,
    GameSettings,
    Metric,
    Player,
    PointEntry,
    Redemption,
    Reward,
    Rule,
)

METRIC_RULE = {
    Metric.VERIFIED_REPORTS: Rule.REPORT_VERIFIED,
    Metric.FIXED_REPORTS: Rule.REPORT_FIXED,
    Metric.CONFIRMATIONS: Rule.CONFIRMATION,
    Metric.NEIGHBOURHOODS: Rule.REPORT_VERIFIED,
}
PERIODS = ("week", "month", "all")


def entry_notice(entry: PointEntry) -> str:
    """The notice "+10 points: your report was verified", in the viewer's language."""
    label = str(entry.get_rule_display())
    if entry.rule == Rule.REVERSAL and entry.reverses_id is not None and entry.reason:
        label = _("%(rule)s: %(reason)s") % {"rule": label, "reason": entry.reason_text}
    text = ngettext("%(amount)+d point: %(why)s", "%(amount)+d points: %(why)s", abs(entry.amount))
    return text % {"amount": entry.amount, "why": f"{label[:1].lower()}{label[1:]}"}


# "for 6 verified reports": what several awards of one rule were for, by how many there were.
_SEVERAL: dict[str, Any] = {
    Rule.REPORT_VERIFIED: ngettext_lazy(
        "%(count)d verified report", "%(count)d verified reports", "count"
    ),
    Rule.REPORT_FIXED: ngettext_lazy("%(count)d fixed report", "%(count)d fixed reports", "count"),
    Rule.FIRST_IN_AREA: ngettext_lazy(
        "being first in %(count)d neighbourhood", "being first in %(count)d neighbourhoods", "count"
    ),
    Rule.CONFIRMATION: ngettext_lazy(
        "%(count)d update staff agreed with", "%(count)d updates staff agreed with", "count"
    ),
    Rule.SPAM_PENALTY: ngettext_lazy(
        "%(count)d report marked as spam", "%(count)d reports marked as spam", "count"
    ),
    Rule.REVERSAL: ngettext_lazy("%(count)d reversed award", "%(count)d reversed awards", "count"),
    Rule.CHALLENGE_BONUS: ngettext_lazy(
        "%(count)d completed challenge", "%(count)d completed challenges", "count"
    ),
}


@dataclass(frozen=True)
class RuleNews:
    """The entries of one rule a person has not been told about yet."""

    rule: str
    count: int
    total: int
    lowest: int  # the smallest amount: below 0 means a penalty is among them


@dataclass(frozen=True)
class PointsNews:
    """What changed in a person's points since they last looked, as one short line."""

    text: str
    total: int
    count: int
    # How the banner looks: a gain, a loss (never styled as a success), or both.
    tone: str


def points_news(rules: list[RuleNews], single: PointEntry | None = None) -> PointsNews | None:
    """One line for all of it: "+45 points for 6 verified reports and more". A single entry is
    told as itself (``single``: "+10 points: your report was verified")."""
    if not rules:
        return None
    count = sum(r.count for r in rules)
    total = sum(r.total for r in rules)
    lowest = min(r.lowest for r in rules)
    tone = "success" if lowest > 0 else "warning" if total < 0 else "info"
    if count == 1 and single is not None:
        return PointsNews(entry_notice(single), total, count, tone)
    main = max(rules, key=lambda r: (r.count, abs(r.total)))
    what = _SEVERAL.get(main.rule, _SEVERAL[Rule.CHALLENGE_BONUS]) % {"count": main.count}
    points = ngettext("%(amount)+d point", "%(amount)+d points", abs(total)) % {"amount": total}
    if len(rules) == 1:
        text = _("%(points)s for %(what)s") % {"points": points, "what": what}
    else:
        text = _("%(points)s for %(what)s and more") % {"points": points, "what": what}
    return PointsNews(text, total, count, tone)


def entries_for(user_id: int, limit: int = 50) -> QuerySet[PointEntry]:
    return (
        PointEntry.objects.filter(user_id=user_id)
        .select_related("report", "challenge", "redemption__reward")
        .order_by("-created_at", "-id")[:limit]
    )


def balance_of(user_id: int) -> int:
    found = Player.objects.filter(pk=user_id).values_list("balance", flat=True).first()
    return int(found or 0)


def ledger_mismatches() -> list[tuple[int, int, int]]:
    """(user id, cached balance, ledger sum) for every player whose cache is wrong."""
    sums = dict(PointEntry.objects.values_list("user_id").annotate(total=Sum("amount")).order_by())
    players = Player.objects.values_list("pk", "balance")
    wrong = [(pk, balance, sums.pop(pk, 0)) for pk, balance in players]
    wrong += [(pk, 0, total) for pk, total in sums.items()]  # entries with no balance row
    return [row for row in wrong if row[1] != row[2]]


# --- leaderboards ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardRow:
    rank: int
    name: str
    points: int
    player_id: int = 0  # for the link to a public profile; never output by the API


@dataclass(frozen=True)
class Board:
    period: str
    area: Area | None
    shown: bool  # False: an area board with too few participants
    participants: int
    rows: list[BoardRow]
    me: BoardRow | None  # the viewer's own rank, for their eyes only


def day_start(at: datetime) -> datetime:
    """Midnight of `at`'s calendar day in local time (TIME_ZONE): caps and boards count by it."""
    return timezone.localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    """Calendar week (from Monday) or month in local time; None for all time."""
    day = day_start(now or timezone.now())
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return None


def leaderboard(*, period: str, area: Area | None = None, viewer_id: int | None = None) -> Board:
    """Points earned (net of reversals and penalties, spending not counted) by people who play.

    Ranks are over everybody who plays; only those who opted in are listed, under their chosen
    name, however far down the ranking they are. Three queries whatever the size of the board.
    """
    game = GameSettings.load()
    totals = _totals(period, area)
    if area is not None and len(totals) < game.min_area_participants:
        return Board(period, area, False, len(totals), [], None)
    ranked = _ranked(totals)
    public = _public_names()
    rows = [BoardRow(r, public[uid], p, uid) for uid, r, p in ranked if uid in public]
    me = next((BoardRow(r, "", p) for uid, r, p in ranked if uid == viewer_id), None)
    return Board(period, area, True, len(totals), rows[: game.leaderboard_size], me)


def _totals(period: str, area: Area | None) -> list[tuple[int, int]]:
    entries = PointEntry.objects.exclude(rule=Rule.REDEMPTION).filter(user__player__is_playing=True)
    since = period_start(period)
    if since is not None:
        entries = entries.filter(effective_at__gte=since)
    if area is not None:
        entries = entries.filter(report__area=area)
    totals = entries.values_list("user_id").annotate(points=Sum("amount")).order_by()
    return [(uid, int(points)) for uid, points in totals if points > 0]


def _ranked(totals: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    ordered = sorted(totals, key=lambda row: (-row[1], row[0]))
    ranked: list[tuple[int, int, int]] = []
    for position, (uid, points) in enumerate(ordered, 1):
        tied = ranked and ranked[-1][2] == points
        ranked.append((uid, ranked[-1][1] if tied else position, points))
    return ranked


def _public_names() -> dict[int, str]:
    """Everybody who opted in (few, unlike players), so that one query finds them wherever they
    rank: taking only the top of the ranking would leave out opted-in people below it."""
    players = Player.objects.filter(is_public=True, is_playing=True)
    return dict(players.values_list("pk", "board_name"))


# --- challenges ------------------------------------------------------------------------------


def challenge_entries(challenge: Challenge) -> QuerySet[PointEntry]:
    """The live awards that count towards a challenge: its metric's rule, in its window, area
    and categories, not reversed, from people who play."""
    entries = PointEntry.objects.filter(
        rule=METRIC_RULE[Metric(challenge.metric)],
        effective_at__gte=challenge.starts_at,
        effective_at__lt=challenge.ends_at,
        reversed_by__isnull=True,
        user__player__is_playing=True,
    )
    if challenge.area_id is not None:
        entries = entries.filter(report__area_id=challenge.area_id)
    category_ids = [c.pk for c in challenge.categories.all()]
    if category_ids:
        entries = entries.filter(report__category_id__in=category_ids)
    return entries


def _measure(challenge: Challenge) -> Any:
    if challenge.metric == Metric.NEIGHBOURHOODS:
        return Count("report__area", distinct=True)
    return Count("id")


def challenge_progress(challenge: Challenge) -> dict[int, int]:
    """Each participant's progress (user id -> count)."""
    rows = challenge_entries(challenge).values_list("user_id").annotate(n=_measure(challenge))
    return {uid: int(n) for uid, n in rows.order_by() if n}


def challenge_total(challenge: Challenge, progress: dict[int, int] | None = None) -> int:
    """Everybody's progress together. Counts add up, except distinct neighbourhoods (two people
    in the same one count it once), which need their own query."""
    if progress is not None and challenge.metric != Metric.NEIGHBOURHOODS:
        return sum(progress.values())
    return int(challenge_entries(challenge).aggregate(n=_measure(challenge))["n"] or 0)


def challenge_winners(challenge: Challenge) -> list[int]:
    progress = challenge_progress(challenge)
    if challenge.is_collective:
        reached = challenge_total(challenge, progress) >= challenge.target
        return sorted(progress) if reached else []
    return sorted(uid for uid, n in progress.items() if n >= challenge.target)


@dataclass(frozen=True)
class ChallengeView:
    challenge: Challenge
    progress: int  # the viewer's own, or everybody's for a collective challenge
    mine: int
    percent: int


def challenges_current(*, user_id: int | None, now: datetime | None = None) -> list[ChallengeView]:
    """Published challenges running now or ended in the last 30 days, with progress.

    One progress query per challenge shown (two for a collective one over neighbourhoods):
    administrators run a handful at a time.
    """
    now = now or timezone.now()
    challenges = (
        Challenge.objects.filter(is_published=True, starts_at__lte=now)
        .filter(ends_at__gte=now - timedelta(days=30))
        .select_related("area")
        .prefetch_related("categories")
        .order_by("ends_at", "id")
    )
    return [_view(c, user_id) for c in challenges]


def _view(challenge: Challenge, user_id: int | None) -> ChallengeView:
    progress = challenge_progress(challenge)
    mine = progress.get(user_id, 0) if user_id is not None else 0
    shown = challenge_total(challenge, progress) if challenge.is_collective else mine
    percent = min(100, round(100 * shown / challenge.target))
    return ChallengeView(challenge, shown, mine, percent)


# --- prizes and profile ------------------------------------------------------------------------


def rewards_available(now: datetime | None = None) -> QuerySet[Reward]:
    now = now or timezone.now()
    return (
        Reward.objects.filter(is_approved=True, stock__gt=0, valid_from__lte=now)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("area")
        .order_by("cost", "id")
    )


class WhyNot:
    """Why the viewer may not redeem a prize now (the shared partial words each one)."""

    SIGN_IN = "sign_in"
    NOT_PLAYING = "not_playing"
    LIMIT_REACHED = "limit_reached"
    NOT_ENOUGH_POINTS = "not_enough_points"


@dataclass(frozen=True)
class Offer:
    """A prize as one viewer sees it: whether they can redeem it, or why not."""

    reward: Reward
    why_not: str = ""  # a WhyNot value; empty: the Redeem button

    @property
    def can_redeem(self) -> bool:
        return not self.why_not


def reward_offers(*, player: Player | None, now: datetime | None = None) -> list[Offer]:
    """The prizes available now, each marked for the viewer (None: signed out) with the checks
    services.reward_redeem makes, in its order. One query: the viewer's redemptions of each prize
    are counted in it, so a page that already has the player adds nothing else."""
    rewards = rewards_available(now)
    if player is None:
        return [Offer(reward, WhyNot.SIGN_IN) for reward in rewards]
    mine = Redemption.objects.filter(reward=OuterRef("pk"), user_id=player.pk)
    count = mine.order_by().values("reward").annotate(n=Count("id")).values("n")
    rewards = rewards.annotate(mine=Coalesce(Subquery(count, output_field=IntegerField()), 0))
    return [Offer(reward, _why_not(reward, player)) for reward in rewards]


def _why_not(reward: Any, player: Player) -> str:
    if not player.is_playing:
        return WhyNot.NOT_PLAYING
    if reward.mine >= reward.per_user_limit:
        return WhyNot.LIMIT_REACHED
    if player.balance < reward.cost:
        return WhyNot.NOT_ENOUGH_POINTS
    return ""


def redemptions_of(user_id: int) -> QuerySet[Redemption]:
    return Redemption.objects.filter(user_id=user_id).select_related("reward")


def badges_of(user_id: int) -> list[BadgeAward]:
    """A person's badges, named in the active language."""
    return names_in_language(BadgeAward.objects.filter(user_id=user_id).order_by("code"))


def player_of(user_id: int) -> Player:
    """The person's settings, or the defaults of somebody who has never played."""
    return Player.objects.filter(pk=user_id).first() or Player(user_id=user_id)


@dataclass(frozen=True)
class PublicProfile:
    """What anybody may see of a player who chose to appear: never a report, place or area."""

    name: str
    points_this_month: int
    points_all_time: int
    badges: list[BadgeAward]


def public_profile(user_id: int) -> PublicProfile | None:
    player = Player.objects.filter(pk=user_id, is_public=True, is_playing=True).first()
    if player is None:
        return None
    earned = PointEntry.objects.filter(user_id=user_id).exclude(rule=Rule.REDEMPTION)
    since = period_start("month")
    totals = earned.aggregate(
        all_time=Sum("amount"), month=Sum("amount", filter=Q(effective_at__gte=since))
    )
    return PublicProfile(
        name=player.board_name,
        points_this_month=int(totals["month"] or 0),
        points_all_time=int(totals["all_time"] or 0),
        badges=list(badges_of(user_id)),
    )
