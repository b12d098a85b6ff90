"""The staff queue's filters (also used by the CSV export and the statistics)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Case, Exists, IntegerField, OuterRef, QuerySet, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from authorities.models import Area, Authority, Category
from config.params import DayField
from reports.models import Priority, Report, ReportPhoto, ReportState
from reports.selectors import search_reports_queryset

from . import selectors

ORDERINGS = (
    ("-created_at", _("Newest first")),
    ("created_at", _("Oldest first")),
    ("-updated_at", _("Recently changed")),
    ("priority", _("Most urgent first")),
    ("state", _("By state")),
)
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
ANY_YES_NO = (("", _("Any")), ("true", _("Yes")), ("false", _("No")))
AGES = (("1", _("Last day")), ("7", _("Last week")), ("30", _("Last 30 days")))


def _authorities(request: HttpRequest | None) -> QuerySet[Authority]:
    return selectors.staff_authorities(getattr(request, "user", None))


def _assignees(request: HttpRequest | None) -> Any:
    return selectors.colleagues(getattr(request, "user", None))


def _areas(request: HttpRequest | None) -> QuerySet[Area]:
    return Area.objects.defer("boundary").order_by("name")


class DayFilter(django_filters.DateFilter):
    field_class = DayField


class StaffReportFilter(django_filters.FilterSet):
    """Filters over `reports_visible_to(request.user)`; without a queryset that is the default,
    so a filter value can never widen what the user may see."""

    q = django_filters.CharFilter(label=_("Text or reference"), method="filter_text")
    state = django_filters.MultipleChoiceFilter(choices=ReportState.choices, label=_("State"))
    authority = django_filters.ModelChoiceFilter(queryset=_authorities, label=_("Authority"))
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.order_by("group", "name"), label=_("Category")
    )
    area = django_filters.ModelChoiceFilter(queryset=_areas, label=_("Neighbourhood"))
    priority = django_filters.ChoiceFilter(choices=Priority.choices, label=_("Priority"))
    assignee = django_filters.ModelChoiceFilter(
        queryset=_assignees, label=_("Assigned to"), null_label=_("Nobody")
    )
    age = django_filters.ChoiceFilter(choices=AGES, label=_("Age"), method="filter_age")
    created_after = DayFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("Created from")
    )
    created_before = DayFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Created until")
    )
    has_photos = django_filters.BooleanFilter(
        label=_("Has photos"), method="filter_photos", widget=forms.Select(choices=ANY_YES_NO)
    )
    overdue = django_filters.BooleanFilter(
        label=_("Overdue"), method="filter_overdue", widget=forms.Select(choices=ANY_YES_NO)
    )
    ordering = django_filters.ChoiceFilter(
        choices=ORDERINGS, label=_("Sort"), method="filter_ordering", empty_label=None
    )

    class Meta:
        model = Report
        fields: tuple[str, ...] = ()

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[Report] | None = None,
        *,
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        if queryset is None:
            queryset = selectors.reports_visible_to(getattr(request, "user", None))
        super().__init__(data, queryset, request=request, **kwargs)

    def filter_queryset(self, queryset: QuerySet[Report]) -> QuerySet[Report]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("ordering"):  # the default sort, also when unbound
            queryset = queryset.order_by("-created_at", "-id")
        return queryset

    def filter_text(self, queryset: QuerySet[Report], name: str, value: str) -> QuerySet[Report]:
        value = value.strip()
        if not value:
            return queryset
        by_ref = queryset.filter(ref=value.upper())
        if len(value) == 7 and by_ref.exists():
            return by_ref
        return search_reports_queryset(queryset, value)

    def filter_age(self, queryset: QuerySet[Report], name: str, value: str) -> QuerySet[Report]:
        return queryset.filter(created_at__gte=timezone.now() - timedelta(days=int(value)))

    def filter_photos(self, queryset: QuerySet[Report], name: str, value: Any) -> QuerySet[Report]:
        if value is None:
            return queryset
        photos = ReportPhoto.objects.filter(report=OuterRef("pk"), is_hidden=False)
        return queryset.filter(Exists(photos)) if value else queryset.exclude(Exists(photos))

    def filter_overdue(self, queryset: QuerySet[Report], name: str, value: Any) -> QuerySet[Report]:
        return queryset if value is None else selectors.filter_overdue(queryset, bool(value))

    def filter_ordering(
        self, queryset: QuerySet[Report], name: str, value: str
    ) -> QuerySet[Report]:
        if value == "priority":
            rank = Case(
                *(When(priority=p, then=Value(n)) for p, n in PRIORITY_RANK.items()),
                default=Value(9),
                output_field=IntegerField(),
            )
            return queryset.annotate(priority_rank=rank).order_by("priority_rank", "-created_at")
        return queryset.order_by(value, "-id")
