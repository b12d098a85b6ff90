"""What the game's API outputs. Output only: writes go to services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from gamification.models import Metric, PointEntry, Redemption, Reward, Rule
from gamification.selectors import PERIODS


class EntrySerializer(serializers.ModelSerializer[PointEntry]):
    report: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="ref", read_only=True, allow_null=True, help_text="The report's reference"
    )
    rule = serializers.ChoiceField(choices=Rule.choices, read_only=True)
    description = serializers.CharField(source="get_rule_display", read_only=True)
    reason = serializers.CharField(
        source="reason_text",
        read_only=True,
        help_text="Why it has this amount, when the rule does not say (a cap, a reversal)",
    )
    reverses = serializers.IntegerField(source="reverses_id", read_only=True, allow_null=True)

    class Meta:
        model = PointEntry
        fields = (
            "id",
            "amount",
            "rule",
            "description",
            "reason",
            "report",
            "reverses",
            "effective_at",
            "created_at",
        )


class PointsSerializer(serializers.Serializer[Any]):
    balance = serializers.IntegerField()
    entries = EntrySerializer(many=True, help_text="The newest 100, newest first")


class BoardQuerySerializer(serializers.Serializer[Any]):
    period = serializers.ChoiceField(
        choices=PERIODS,
        default="week",
        help_text="This calendar week (from Monday) or month in local time, or all time",
    )
    area = serializers.SlugField(
        required=False, help_text="Only points earned in this neighbourhood (its slug)"
    )


class BoardRowSerializer(serializers.Serializer[Any]):
    rank = serializers.IntegerField()
    name = serializers.CharField()
    points = serializers.IntegerField()


class MyRankSerializer(serializers.Serializer[Any]):
    rank = serializers.IntegerField()
    points = serializers.IntegerField()


class BoardSerializer(serializers.Serializer[Any]):
    period = serializers.ChoiceField(choices=PERIODS)
    area = serializers.CharField(allow_null=True, help_text="The neighbourhood's slug, if any")
    shown = serializers.BooleanField(
        help_text="False for an area board with too few participants: no rows, no rank"
    )
    entries = BoardRowSerializer(many=True, help_text="Only people who chose to appear")
    me = MyRankSerializer(allow_null=True, help_text="Your own rank, for you only")


class ChallengeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="challenge.pk")
    title = serializers.CharField(source="challenge.title")
    description = serializers.CharField(source="challenge.description")
    starts_at = serializers.DateTimeField(source="challenge.starts_at")
    ends_at = serializers.DateTimeField(source="challenge.ends_at")
    area = serializers.SerializerMethodField()
    categories = serializers.SerializerMethodField()
    metric = serializers.ChoiceField(source="challenge.metric", choices=Metric.choices)
    target = serializers.IntegerField(source="challenge.target")
    bonus_points = serializers.IntegerField(source="challenge.bonus_points")
    badge = serializers.CharField(source="challenge.badge_name")
    collective = serializers.BooleanField(source="challenge.is_collective")
    settled = serializers.SerializerMethodField()
    progress = serializers.IntegerField(help_text="Yours, or everybody's if collective")
    mine = serializers.IntegerField(help_text="Your own contribution")
    percent = serializers.IntegerField()

    def get_area(self, obj: Any) -> str | None:
        return obj.challenge.area.slug if obj.challenge.area else None

    def get_categories(self, obj: Any) -> list[str]:
        return [c.slug for c in obj.challenge.categories.all()]

    def get_settled(self, obj: Any) -> bool:
        return obj.challenge.settled_at is not None


class RewardSerializer(serializers.ModelSerializer[Reward]):
    area: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = Reward
        fields = (
            "id",
            "title",
            "description",
            "sponsor",
            "cost",
            "stock",
            "per_user_limit",
            "valid_until",
            "area",
        )


class RedemptionSerializer(serializers.ModelSerializer[Redemption]):
    reward = serializers.CharField(source="reward.title")
    balance = serializers.SerializerMethodField()

    class Meta:
        model = Redemption
        fields = ("id", "reward", "code", "cost", "balance", "created_at")

    def get_balance(self, obj: Redemption) -> int:
        from gamification.selectors import balance_of

        return balance_of(obj.user_id)
