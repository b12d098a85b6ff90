"""Query parameters of GET /api/v1/reports/."""

from __future__ import annotations

import copy
import functools
import math
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError

from config import params
from config.params import Box
from reports.models import Report, ReportState
from reports.selectors import search_reports_queryset


def _pair(value: str, name: str) -> tuple[str, str]:
    first, comma, second = value.partition(",")
    if not comma:
        raise params.InvalidParameter(
            name, _("%(name)s must be lat,lon in degrees.") % {"name": name}
        )
    return first, second


ISO = "ISO 8601 with an offset, e.g. 2026-05-01T10:30:00+02:00"


class UtcDateTimeField(IsoDateTimeField):
    """ISO 8601, moved to UTC. ISO 8601 and Python allow offsets up to ±23:59 but PostgreSQL only
    ±15:59 (a 500), and a moment near year 1 or 9999 may not exist in UTC: both are invalid."""

    def to_python(self, value: Any) -> datetime | None:
        moment: datetime | None = super().to_python(value)
        try:
            return moment.astimezone(UTC) if moment is not None else None
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """Comma-separated strings, each cleaned like a CharFilter's (a NUL byte is invalid input,
    not a database error on PostgreSQL)."""


def in_box(reports: QuerySet[Report], box: Box) -> QuerySet[Report]:
    """The reports whose point is in the box (west, south, east, north): the list's bbox, and
    the first page of a box (box_page)."""
    west, south, east, north = box
    return reports.filter(latitude__range=(south, north), longitude__range=(west, east))


class ReportFilter(django_filters.FilterSet):
    state = CharInFilter(
        field_name="state",
        help_text="One or more states, comma-separated: " + ", ".join(ReportState.values),
    )
    category = django_filters.CharFilter(field_name="category__slug", help_text="Category slug")
    authority = django_filters.CharFilter(field_name="authority__slug", help_text="Authority slug")
    created_since = UtcDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text=f"Filed at or after ({ISO})"
    )
    created_until = UtcDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text=f"Filed before ({ISO})"
    )
    updated_since = UtcDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text=f"Changed at or after ({ISO})"
    )
    updated_until = UtcDateTimeFilter(
        field_name="updated_at", lookup_expr="lt", help_text=f"Changed before ({ISO})"
    )
    bbox = django_filters.CharFilter(
        method="filter_bbox", help_text="west,south,east,north in degrees"
    )
    near = django_filters.CharFilter(
        method="filter_near", help_text="lat,lon; with radius (metres, default 500)"
    )
    radius = django_filters.NumberFilter(method="filter_noop", help_text="Metres around near")
    q = django_filters.CharFilter(
        method="filter_text", help_text="Free text in title or description"
    )

    class Meta:
        model = Report
        fields: list[str] = []

    def get_form_class(self) -> type[forms.Form]:
        return _report_filter_form()

    def filter_bbox(self, queryset: QuerySet[Report], name: str, value: str) -> QuerySet[Report]:
        return in_box(queryset, params.bbox(value))

    def filter_near(self, queryset: QuerySet[Report], name: str, value: str) -> QuerySet[Report]:
        lat, lon = params.point(*_pair(value, "near"), names=("near", "near"))
        radius = float(self.data.get("radius") or 500)
        if not 0 < radius <= 50_000:
            raise ValidationError({"radius": _("Between 1 and 50,000 metres.")})
        dlat = radius / 111_000
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        # A bounding box is exact enough at street scale and lets the index do the work.
        return queryset.filter(
            latitude__range=(lat - dlat, lat + dlat), longitude__range=(lon - dlon, lon + dlon)
        )

    def filter_noop(self, queryset: QuerySet[Report], name: str, value: Any) -> QuerySet[Report]:
        return queryset

    def filter_text(self, queryset: QuerySet[Report], name: str, value: str) -> QuerySet[Report]:
        return search_reports_queryset(queryset, value) if value.strip() else queryset


@functools.cache
def _report_filter_form() -> type[forms.Form]:
    """django-filter builds a form class, a field per filter, for every request: a tenth of a
    bbox list's time. Ours depends on nothing of the request (no filter takes its choices from
    a queryset or the user), and every form copies its class's fields, so one class serves."""
    fields = {name: f.field for name, f in copy.deepcopy(ReportFilter.base_filters).items()}
    return type("ReportFilterForm", (ReportFilter._meta.form,), fields)
