"""Points, badges, challenges and prizes: rewards for verified help, never for mere activity.

The ledger (PointEntry) is the truth; Player.balance is a cache of its sum that can always be
rebuilt (services.balances_rebuild). See docs/gamification.md for the rules.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.manager import MultilingualManager

from authorities.models import Area, Category
from config.text import LineField, TextField
from reports.models import AppendOnlyModel, Report, ReportUpdate


class GameSettings(models.Model):
    """The one row of amounts, daily caps and windows an administrator can change in the admin."""

    points_verified = models.PositiveIntegerField(_("points: report verified by staff"), default=10)
    points_fixed = models.PositiveIntegerField(_("points: verified report fixed"), default=5)
    points_first_in_area = models.PositiveIntegerField(
        _("points: first verified report in a neighbourhood"), default=5
    )
    points_confirmation = models.PositiveIntegerField(
        _("points: a fixed/still-there update staff agree with"), default=3
    )
    spam_penalty = models.PositiveIntegerField(_("penalty: report marked spam"), default=20)
    cap_verified = models.PositiveIntegerField(_("daily cap: verified reports"), default=10)
    cap_fixed = models.PositiveIntegerField(_("daily cap: fixed reports"), default=10)
    cap_first_in_area = models.PositiveIntegerField(_("daily cap: first in area"), default=3)
    cap_confirmation = models.PositiveIntegerField(_("daily cap: confirmations"), default=5)
    first_in_area_days = models.PositiveIntegerField(
        _("first-in-neighbourhood window (days)"), default=90
    )
    settling_days = models.PositiveIntegerField(
        _("challenge settling period (days)"),
        default=7,
        help_text=_("Challenges are settled this long after they end, so late reversals count."),
    )
    leaderboard_size = models.PositiveIntegerField(_("leaderboard length"), default=20)
    min_area_participants = models.PositiveIntegerField(
        _("fewest participants for an area board"), default=5
    )

    class Meta:
        verbose_name = _("game settings")
        verbose_name_plural = _("game settings")
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(pk=1), name="game_settings_single_row")
        ]

    def __str__(self) -> str:
        return str(_("Game settings"))

    @classmethod
    def load(cls) -> GameSettings:
        found, _created = cls.objects.get_or_create(pk=1)
        return found


class Player(models.Model):
    """A person's game: the cached balance and their choices (public board, playing at all)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="player",
    )
    balance = models.IntegerField(_("balance (cache of the ledger)"), default=0)
    is_playing = models.BooleanField(
        _("plays"), default=True, help_text=_("Off: earns nothing and appears nowhere.")
    )
    is_public = models.BooleanField(_("on public leaderboards"), default=False)
    board_name = LineField(_("name on leaderboards"), max_length=40, blank=True)
    # The newest entry the player has been told about (the "+10 points" notice).
    seen_entry_id = models.BigIntegerField(_("last entry the player was told about"), default=0)

    class Meta:
        verbose_name = _("player")
        verbose_name_plural = _("players")

    def __str__(self) -> str:
        return f"{self.user} ({self.balance})"

    def clean(self) -> None:
        """The one place of the rule, for the admin's form, the profile's form and the service."""
        self.board_name = self.board_name.strip()
        if self.is_public and not self.board_name:
            raise ValidationError({"board_name": _("Choose a name to appear on public boards.")})


class Rule(models.TextChoices):
    REPORT_VERIFIED = "report_verified", _("Your report was verified")
    REPORT_FIXED = "report_fixed", _("Your verified report was fixed")
    FIRST_IN_AREA = "first_in_area", _("First verified report in the neighbourhood")
    CONFIRMATION = "confirmation", _("Staff agreed with your update")
    SPAM_PENALTY = "spam_penalty", _("Your report was marked as spam")
    REVERSAL = "reversal", _("Reversed")
    CHALLENGE_BONUS = "challenge_bonus", _("Challenge completed")
    REDEMPTION = "redemption", _("Prize redeemed")


class Reason(models.TextChoices):
    """What an entry's rule does not say: why it earned nothing, why an award was reversed.
    Stored as a code, not as text, and named when shown, in the reader's language: the person
    who caused it (a staff member, a worker) may have worked in another."""

    DAILY_LIMIT = "daily_limit", _("daily limit reached")
    SPAM = "spam", _("the report was marked as spam")
    DUPLICATE = "duplicate", _("the report duplicated another")


class PointEntry(AppendOnlyModel):
    """One line of the ledger, never edited or deleted: a reversal is a new, linked line."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="point_entries",
    )
    amount = models.IntegerField(_("points"))
    rule = models.CharField(_("rule"), max_length=30, choices=Rule.choices)
    # Unique per rule, user and object: an award can only ever happen once.
    key = models.CharField(_("key"), max_length=120, unique=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    # A "duplicate" reversal: the reference of the report the entry's report duplicated.
    original_ref = models.CharField(_("report it duplicated"), max_length=12, blank=True)
    report = models.ForeignKey(
        Report,
        verbose_name=_("report"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="point_entries",
    )
    update = models.ForeignKey(
        ReportUpdate,
        verbose_name=_("citizen update"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    challenge = models.ForeignKey(
        "Challenge",
        verbose_name=_("challenge"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entries",
    )
    redemption = models.OneToOneField(
        "Redemption",
        verbose_name=_("redemption"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entry",
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )
    # When the fact happened (a reversal takes its original's): boards and caps count by it.
    effective_at = models.DateTimeField(_("happened"), default=timezone.now, db_index=True)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    correction = "record a reversal instead"

    class Meta:
        verbose_name = _("point entry")
        verbose_name_plural = _("point entries")
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["user", "rule", "effective_at"], name="entry_user_rule_time"),
            models.Index(fields=["effective_at", "user"], name="entry_time_user"),
        ]

    def __str__(self) -> str:
        points = ngettext(
            "%(amount)s point, %(rule)s, user %(user)s",
            "%(amount)s points, %(rule)s, user %(user)s",
            abs(self.amount),
        )
        return points % {
            "amount": f"{self.amount:+d}",
            "rule": self.get_rule_display(),
            "user": self.user_id,
        }

    @property
    def reason_text(self) -> str:
        """The reason in the active language: "the report duplicated 7KQ2MXR"; empty if none."""
        if self.reason == Reason.DUPLICATE and self.original_ref:
            return _("the report duplicated %(ref)s") % {"ref": self.original_ref}
        return str(self.get_reason_display())


class BadgeAward(models.Model):
    """A badge a person holds, at a level, recomputed from verified data (see badges.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="badges",
    )
    code = models.CharField(_("badge"), max_length=60)
    name = LineField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), default=1)
    awarded_at = models.DateTimeField(_("awarded"), default=timezone.now)

    class Meta:
        verbose_name = _("badge")
        verbose_name_plural = _("badges")
        ordering: ClassVar = ["code"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "code"], name="badge_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.level} ({self.user_id})"

    @property
    def is_challenge(self) -> bool:
        return self.code.startswith("challenge-")


class Metric(models.TextChoices):
    VERIFIED_REPORTS = "verified_reports", _("Verified reports")
    FIXED_REPORTS = "fixed_reports", _("Fixed reports")
    CONFIRMATIONS = "confirmations", _("Confirmations staff agreed with")
    NEIGHBOURHOODS = "neighbourhoods", _("Distinct neighbourhoods with a verified report")


class Challenge(models.Model):
    """A goal set by administrators for a time window, settled once after the settling period."""

    title = LineField(_("title"), max_length=150)
    description = TextField(_("description"), blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    area = models.ForeignKey(
        Area, verbose_name=_("neighbourhood"), on_delete=models.PROTECT, null=True, blank=True
    )
    categories = models.ManyToManyField(
        Category, verbose_name=_("categories"), blank=True, help_text=_("None: every category.")
    )
    metric = models.CharField(_("metric"), max_length=30, choices=Metric.choices)
    target = models.PositiveIntegerField(_("target"))
    bonus_points = models.PositiveIntegerField(_("bonus points"), default=0)
    badge_name = LineField(_("badge for completing it"), max_length=100, blank=True)
    is_collective = models.BooleanField(
        _("collective"),
        default=False,
        help_text=_("Everybody's progress counts towards one target; every contributor wins."),
    )
    is_published = models.BooleanField(_("published"), default=True)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    # django-modeltranslation's manager (it would patch the default one in): queries on a
    # translated field read the active language's column.
    objects: ClassVar[MultilingualManager[Challenge]] = MultilingualManager()

    class Meta:
        verbose_name = _("challenge")
        verbose_name_plural = _("challenges")
        ordering: ClassVar = ["-starts_at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="challenge_window"
            ),
            models.CheckConstraint(condition=models.Q(target__gte=1), name="challenge_target"),
        ]

    def __str__(self) -> str:
        return self.title


class Reward(models.Model):
    """A prize in the catalogue. Sponsors get redemption codes, never who redeemed them."""

    title = LineField(_("title"), max_length=150)
    description = TextField(_("description"), blank=True)
    sponsor = LineField(_("sponsor or partner"), max_length=150, blank=True)
    cost = models.PositiveIntegerField(_("cost in points"))
    stock = models.PositiveIntegerField(_("stock left"))
    per_user_limit = models.PositiveIntegerField(_("per person"), default=1)
    valid_from = models.DateTimeField(_("available from"), default=timezone.now)
    valid_until = models.DateTimeField(_("available until"), null=True, blank=True)
    area = models.ForeignKey(
        Area,
        verbose_name=_("neighbourhood"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Where the prize is to be had, if it is local."),
    )
    is_approved = models.BooleanField(_("approved by an administrator"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    # django-modeltranslation's manager (it would patch the default one in): queries on a
    # translated field read the active language's column.
    objects: ClassVar[MultilingualManager[Reward]] = MultilingualManager()

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering: ClassVar = ["cost", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="reward_stock"),
            models.CheckConstraint(condition=models.Q(cost__gte=1), name="reward_cost"),
            models.CheckConstraint(condition=models.Q(per_user_limit__gte=1), name="reward_limit"),
        ]

    def __str__(self) -> str:
        return self.title


class Redemption(models.Model):
    """A prize handed out: the code is what the person shows the sponsor."""

    reward = models.ForeignKey(
        Reward, verbose_name=_("reward"), on_delete=models.PROTECT, related_name="redemptions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="redemptions",
    )
    code = models.CharField(_("code"), max_length=20, unique=True)
    cost = models.PositiveIntegerField(_("points paid"))
    created_at = models.DateTimeField(_("redeemed"), default=timezone.now)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.code} ({self.reward_id})"
