"""The game in the admin: settings, challenges and prizes are edited; the ledger is read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin
from modeltranslation.settings import AVAILABLE_LANGUAGES as MODELTRANSLATION_LANGUAGES

from authorities.admin import ReadOnlyAdminMixin

from . import services
from .models import (
    BadgeAward,
    Challenge,
    GameSettings,
    Player,
    PointEntry,
    Redemption,
    Reward,
)


@admin.register(GameSettings)
class GameSettingsAdmin(admin.ModelAdmin):
    """One row of amounts, caps and windows (defaults in docs/gamification.md)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not GameSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PointEntry)
class PointEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "user", "amount", "rule", "report", "reason_shown", "reverses")
    list_filter = ("rule", "reason")
    search_fields = ("user__email", "report__ref", "key")
    list_select_related = ("user", "report", "reverses")
    date_hierarchy = "created_at"

    @admin.display(description=_("reason"), ordering="reason")
    def reason_shown(self, entry: PointEntry) -> str:
        return entry.reason_text


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ("user", "balance", "is_playing", "is_public", "board_name")
    list_filter = ("is_playing", "is_public")
    search_fields = ("user__email", "board_name")
    list_select_related = ("user",)
    readonly_fields = ("user", "balance", "seen_entry_id")
    actions = ("rebuild_balances",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Player, form: Any, change: bool) -> None:
        services.player_preferences_set(
            user_id=obj.pk,
            is_playing=obj.is_playing,
            is_public=obj.is_public,
            board_name=obj.board_name,
        )

    @admin.action(description=_("Rebuild the balances from the ledger"))
    def rebuild_balances(self, request: HttpRequest, queryset: QuerySet[Player]) -> None:
        fixed = services.balances_rebuild(user_ids=list(queryset.values_list("pk", flat=True)))
        corrected = ngettext("%(n)d balance corrected.", "%(n)d balances corrected.", fixed)
        self.message_user(request, corrected % {"n": fixed}, messages.SUCCESS)


@admin.register(BadgeAward)
class BadgeAwardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "name", "level", "awarded_at")
    list_filter = ("code",)
    search_fields = ("user__email", "name")
    list_select_related = ("user",)


@admin.register(Challenge)
class ChallengeAdmin(TranslationAdmin):
    list_display = (
        "title",
        "metric",
        "target",
        "starts_at",
        "ends_at",
        "is_collective",
        "is_published",
        "settled_at",
    )
    list_filter = ("metric", "is_collective", "is_published")
    search_fields = ("title",)
    filter_horizontal = ("categories",)
    autocomplete_fields = ("area",)
    actions = ("settle",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.catalogue_save(obj=obj, changed=form.changed_data)

    @admin.action(description=_("Settle now if the settling period is over"))
    def settle(self, request: HttpRequest, queryset: QuerySet[Challenge]) -> None:
        winners = sum(services.challenge_settle(challenge_id=c.pk) for c in queryset)
        rewarded = ngettext("%(n)d winner rewarded.", "%(n)d winners rewarded.", winners)
        self.message_user(request, rewarded % {"n": winners}, messages.SUCCESS)


class RewardForm(forms.ModelForm):
    add_stock = forms.IntegerField(
        label=_("Add to stock"),
        required=False,
        help_text=_("Prizes to add (negative: to take away), on top of what redemptions left."),
    )

    class Meta:
        model = Reward
        fields = (
            *(f"title_{code}" for code in MODELTRANSLATION_LANGUAGES),
            *(f"description_{code}" for code in MODELTRANSLATION_LANGUAGES),
            "sponsor",
            "cost",
            "stock",
            "per_user_limit",
            "valid_from",
            "valid_until",
            "area",
            "is_approved",
        )

    def clean_add_stock(self) -> int:
        amount = self.cleaned_data.get("add_stock") or 0
        if self.instance.pk is not None and self.instance.stock + amount < 0:
            left = _("Only %(n)d left to take away.") % {"n": self.instance.stock}
            raise forms.ValidationError(left)
        return int(amount)


@admin.register(Reward)
class RewardAdmin(TranslationAdmin):
    """Stock is read-only once a prize exists: a form loaded before redemptions would otherwise
    put back the old figure. Administrators add or take away prizes relative to the stock."""

    form = RewardForm
    list_display = ("title", "sponsor", "cost", "stock", "per_user_limit", "is_approved")
    list_filter = ("is_approved",)
    search_fields = ("title", "sponsor")
    autocomplete_fields = ("area",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("stock",) if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        return fields if obj is not None else [f for f in fields if f != "add_stock"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.catalogue_save(obj=obj, changed=form.changed_data)
        if change and form.cleaned_data.get("add_stock"):
            services.reward_stock_add(reward_id=obj.pk, amount=form.cleaned_data["add_stock"])


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "reward", "user", "cost", "created_at")
    search_fields = ("code", "reward__title", "user__email")
    list_select_related = ("reward", "user")
