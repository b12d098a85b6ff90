"""What the native API reads and writes. Output serializers only read; writes go to services."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from authorities.models import Authority, Category, CategoryQuestion
from config.jsonapi import absolute_url
from reports.models import Priority, Report, ReportState, ReportStateChange, ReportUpdate
from reports.notes import NOTE_MAX_LENGTH

from .fields import NumberField, RequiredBooleanField


class QuestionSerializer(serializers.ModelSerializer[CategoryQuestion]):
    class Meta:
        model = CategoryQuestion
        fields = ("code", "label", "help_text", "datatype", "required", "values", "order")


class CategorySerializer(serializers.ModelSerializer[Category]):
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Category
        fields = ("slug", "name", "group", "description", "icon", "colour", "questions")


class AuthorityRefSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()


class AuthoritySerializer(serializers.ModelSerializer[Authority]):
    # "parent" is also an attribute of every DRF field: the stubs cannot tell them apart.
    parent: serializers.SlugRelatedField[Authority] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = Authority
        fields = ("slug", "name", "kind", "parent", "email", "phone", "website")


class AuthorityWithBoundarySerializer(AuthoritySerializer):
    class Meta(AuthoritySerializer.Meta):
        fields = (*AuthoritySerializer.Meta.fields, "boundary")  # type: ignore[assignment]


class HistorySerializer(serializers.ModelSerializer[ReportStateChange]):
    """The public side of a state change: never the internal note or who on the staff."""

    class Meta:
        model = ReportStateChange
        fields = ("from_state", "to_state", "actor_kind", "public_note", "created_at")


class UpdateSerializer(serializers.ModelSerializer[ReportUpdate]):
    author = serializers.SerializerMethodField()

    class Meta:
        model = ReportUpdate
        fields = ("id", "text", "opinion", "author", "created_at")

    def get_author(self, obj: ReportUpdate) -> str | None:
        return obj.author_name if obj.show_name and obj.author_name else None


class ReportSerializer(serializers.ModelSerializer[Report]):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    authority = AuthorityRefSerializer(read_only=True)
    reporter = serializers.CharField(source="public_reporter_name", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = (
            "id",
            "ref",
            "title",
            "description",
            "category",
            "latitude",
            "longitude",
            "address",
            "authority",
            "state",
            "priority",
            "extra",
            "reporter",
            "created_at",
            "updated_at",
            "confirmed_at",
            "sent_at",
            "verified_at",
            "fixed_at",
            "closed_at",
            "url",
        )

    def get_url(self, obj: Report) -> str:
        request = self.context.get("request")
        path = obj.get_absolute_url()
        return absolute_url(request, path) if request else path


class ReportDetailSerializer(ReportSerializer):
    history = serializers.SerializerMethodField()
    updates = UpdateSerializer(many=True, read_only=True)
    supporters = serializers.IntegerField(source="support_count", read_only=True)
    duplicate_of: serializers.SlugRelatedField[Report] = serializers.SlugRelatedField(
        slug_field="ref", read_only=True, allow_null=True
    )

    class Meta(ReportSerializer.Meta):
        fields = (  # type: ignore[assignment]
            *ReportSerializer.Meta.fields,
            "supporters",
            "duplicate_of",
            "history",
            "updates",
        )

    def get_history(self, obj: Report) -> list[dict[str, Any]]:
        public = [c for c in obj.history.all() if c.to_state != ReportState.UNCONFIRMED]
        return HistorySerializer(public, many=True).data  # type: ignore[return-value]


# --- GeoJSON (?format=geojson) -----------------------------------------------------------------
# For the schema only: renderers.GeoJSONRenderer turns the serializers above into these shapes.

POINT_FIELDS = ("latitude", "longitude")


class PointSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text='"Point"')
    coordinates = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, help_text="[lon, lat]"
    )


class ReportPropertiesSerializer(ReportSerializer):
    class Meta(ReportSerializer.Meta):
        fields = tuple(f for f in ReportSerializer.Meta.fields if f not in POINT_FIELDS)  # type: ignore[assignment]


class ReportDetailPropertiesSerializer(ReportDetailSerializer):
    class Meta(ReportDetailSerializer.Meta):
        fields = tuple(f for f in ReportDetailSerializer.Meta.fields if f not in POINT_FIELDS)  # type: ignore[assignment]


class FeatureSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text='"Feature"')
    id = serializers.IntegerField()
    geometry = PointSerializer()


class ReportFeatureSerializer(FeatureSerializer):
    properties = ReportPropertiesSerializer()


class ReportDetailFeatureSerializer(FeatureSerializer):
    properties = ReportDetailPropertiesSerializer()


@extend_schema_serializer(many=False)  # the whole page, not a list of pages
class ReportFeatureCollectionSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text='"FeatureCollection"')
    features = ReportFeatureSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="URL of the next page")
    previous = serializers.CharField(allow_null=True, help_text="URL of the previous page")


class SupportSerializer(serializers.Serializer[Any]):
    added = serializers.BooleanField(help_text="False when you had already supported it")
    supporters = serializers.IntegerField()


class OnBehalfOfSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
    email = serializers.EmailField(required=False, default="", allow_blank=True)
    phone = serializers.CharField(required=False, default="", allow_blank=True, max_length=30)
    anonymous = serializers.BooleanField(
        required=False, default=False, help_text="The caller stays anonymous: give no contact"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        contact = any(attrs[name] for name in ("name", "email", "phone"))
        if attrs["anonymous"] and contact:
            raise serializers.ValidationError(_("An anonymous caller has no name, email or phone."))
        if not attrs["anonymous"] and not contact:
            raise serializers.ValidationError(
                _("Give the caller's name, email and/or phone, or anonymous: true.")
            )
        return attrs


class ReportCreateSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=150)
    description = serializers.CharField(max_length=5000)
    category = serializers.SlugField()
    latitude = NumberField(min_value=-90, max_value=90)
    longitude = NumberField(min_value=-180, max_value=180)
    extra = serializers.DictField(required=False, default=dict)
    show_name = serializers.BooleanField(required=False, default=False)
    email = serializers.EmailField(
        required=False,
        default="",
        help_text="The citizen a key that files for citizens files for: they confirm the report "
        "by e-mail and get its updates. For other keys, the reporter's contact for staff.",
    )
    first_name = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=50, help_text="With `email`"
    )
    last_name = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=50, help_text="With `email`"
    )
    on_behalf_of = OnBehalfOfSerializer(
        required=False,
        help_text="Staff with the permission to file for others (contact centre, counter) file "
        "for this caller: open at once, the caller's email gets the confirmation and updates. "
        "Anybody else gets 403.",
    )
    as_authority = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Staff with the permission file as the authority itself (their own finding). "
        "Anybody else gets 403.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("on_behalf_of") is not None and attrs["as_authority"]:
            raise serializers.ValidationError(_("Give on_behalf_of or as_authority, not both."))
        return attrs


class UpdateCreateSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=5000)
    opinion = serializers.ChoiceField(
        choices=["", "fixed", "still_a_problem"], required=False, default=""
    )
    show_name = serializers.BooleanField(required=False, default=False)


class AssignSerializer(serializers.Serializer[Any]):
    assignee = serializers.EmailField(
        allow_null=True, help_text="The colleague's e-mail, or null to take the report back"
    )


class RerouteSerializer(serializers.Serializer[Any]):
    category = serializers.SlugField(required=False, help_text="New category slug")
    latitude = NumberField(required=False, min_value=-90, max_value=90)
    longitude = NumberField(required=False, min_value=-180, max_value=180)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("latitude" in attrs) != ("longitude" in attrs):
            raise serializers.ValidationError(_("Give both latitude and longitude to move it."))
        if not attrs:
            raise serializers.ValidationError(_("Give a category, a position, or both."))
        return attrs


class PrivacySerializer(serializers.Serializer[Any]):
    private = RequiredBooleanField(
        help_text="true: only its reporter and the authority's staff see it; false: public"
    )
    reason = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=2000, help_text="For the audit log"
    )


class PrivacyAnswerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    ref = serializers.CharField()
    private = serializers.BooleanField()


class PrioritySerializer(serializers.Serializer[Any]):
    priority = serializers.ChoiceField(choices=Priority.choices)


class TransitionSerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(choices=ReportState.choices)
    public_note = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=NOTE_MAX_LENGTH
    )
    internal_note = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=NOTE_MAX_LENGTH
    )
    duplicate_of = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="Reference or id of the original: a public report you can see as staff",
    )


class LocateSerializer(serializers.Serializer[Any]):
    class CategoryOfferSerializer(serializers.Serializer[Any]):
        slug = serializers.CharField()
        name = serializers.CharField()
        group = serializers.CharField()
        authority = AuthorityRefSerializer()

    class LocatedAuthoritySerializer(serializers.Serializer[Any]):
        slug = serializers.CharField()
        name = serializers.CharField()
        kind = serializers.CharField()

    authorities = LocatedAuthoritySerializer(many=True)
    categories = CategoryOfferSerializer(many=True)


class FiguresSerializer(serializers.Serializer[Any]):
    received = serializers.IntegerField(help_text="Reports confirmed in the period")
    open = serializers.IntegerField(help_text="Of those, open now")
    fixed = serializers.IntegerField(help_text="Reports fixed in the period")
    enough_reports = serializers.BooleanField(
        help_text="At least `minimum_reports` received: the times, shares and rate are shown"
    )
    median_days_to_fix = serializers.FloatField(allow_null=True)
    p90_days_to_fix = serializers.FloatField(allow_null=True)
    fixed_within_target = serializers.FloatField(
        allow_null=True, help_text="Share (0-1) of the fixed ones fixed within `sla_fix_hours`"
    )
    questionnaires_answered = serializers.IntegerField()
    citizens_fix_rate = serializers.FloatField(
        allow_null=True, help_text='Share (0-1) of "Has this been fixed?" answers saying yes'
    )


class CategoryFiguresSerializer(FiguresSerializer):
    category = serializers.SlugField()
    name = serializers.CharField()
    sla_verify_hours = serializers.IntegerField(allow_null=True)
    sla_fix_hours = serializers.IntegerField(allow_null=True)
    city = FiguresSerializer(help_text="The same figures for the whole city")


class TotalFiguresSerializer(FiguresSerializer):
    city = FiguresSerializer(help_text="The same figures for the whole city")


class PerformanceAuthoritySerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField()
    name = serializers.CharField()


class PeriodSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class PerformanceSerializer(serializers.Serializer[Any]):
    authority = PerformanceAuthoritySerializer()
    period = PeriodSerializer()
    minimum_reports = serializers.IntegerField()
    categories = CategoryFiguresSerializer(many=True)
    total = TotalFiguresSerializer()


class StatsSerializer(serializers.Serializer[Any]):
    authority = serializers.CharField()
    total = serializers.IntegerField()
    by_state = serializers.DictField(child=serializers.IntegerField())
    fixed_last_30_days = serializers.IntegerField()
    median_days_to_fix = serializers.FloatField(allow_null=True)
    supporters = serializers.IntegerField()
