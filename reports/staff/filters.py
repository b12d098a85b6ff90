"""The staff queue's filters (also used by the CSV export and the statistics)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from authorities import permissions
from authorities.models import Area, Authority, Category
from config.params import DayField
from reports.models import Priority, Report, ReportPhoto, ReportState
from reports.selectors import reports_visible_to, search_reports_queryset

from . import selectors

ORDERINGS = (
    ("work", _("Work order: overdue, most urgent, oldest")),
    ("-created_at", _("Newest first")),
    ("created_at", _("Oldest first")),
    ("-updated_at", _("Recently changed")),
    ("priority", _("Most urgent first")),
    ("state", _("By state")),
)
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
ANY = _("Any")
ANY_YES_NO = (("", ANY), ("true", _("Yes")), ("false", _("No")))
# The queue opened without a choice of states shows the work to do (see `queue_defaults`).
WORK_STATES = (ReportState.OPEN, ReportState.VERIFIED, ReportState.IN_PROGRESS)
CHOSEN = "chosen"  # sent by the filter form: its states are the ones ticked, even none (= all)
AGES = (("1", _("Last day")), ("7", _("Last week")), ("30", _("Last 30 days")))


def _authorities(request: HttpRequest | None) -> QuerySet[Authority]:
    return permissions.staff_authorities(getattr(request, "user", None))


def _assignees(request: HttpRequest | None) -> Any:
    return selectors.colleagues(getattr(request, "user", None))


def _areas(request: HttpRequest | None) -> QuerySet[Area]:
    # Every area by default (the export and statistics take any); the queue offers only the
    # user's (see StaffReportFilter's `areas`), which costs a look-up not every use needs.
    return Area.objects.defer("boundary").order_by("name")


def queue_defaults(data: QueryDict) -> QueryDict:
    """The queue's parameters with its default filled in: the work to do (WORK_STATES) unless
    the filter form was sent or states were named. Filled in as parameters, so links (pages,
    the CSV export) carry them too."""
    data = data.copy()
    if "state" not in data and CHOSEN not in data:
        data.setlist("state", [str(state) for state in WORK_STATES])
    return data


def day_input() -> forms.DateInput:
    """A browser's date picker: its value is ISO 8601 in every language (the page's own short
    format, 06/04/2026 in Catalan, would be thrown away by the browser)."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DayFilter(django_filters.DateFilter):
    field_class = DayField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", day_input())
        super().__init__(*args, **kwargs)


class StaffReportFilter(django_filters.FilterSet):
    """Filters over `reports_visible_to(request.user)`; without a queryset that is the default,
    so a filter value can never widen what the user may see."""

    q = django_filters.CharFilter(label=_("Text or reference"), method="filter_text")
    state = django_filters.MultipleChoiceFilter(
        choices=ReportState.choices, label=_("State"), widget=forms.CheckboxSelectMultiple
    )
    authority = django_filters.ModelChoiceFilter(
        queryset=_authorities, label=_("Authority"), empty_label=ANY
    )
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.order_by("group", "name"), label=_("Category"), empty_label=ANY
    )
    area = django_filters.ModelChoiceFilter(
        queryset=_areas, label=_("Neighbourhood"), empty_label=ANY
    )
    priority = django_filters.ChoiceFilter(
        choices=Priority.choices, label=_("Priority"), empty_label=ANY
    )
    assignee = django_filters.ModelChoiceFilter(
        queryset=_assignees, label=_("Assigned to"), null_label=_("Nobody"), empty_label=ANY
    )
    age = django_filters.ChoiceFilter(
        choices=AGES, label=_("Age"), method="filter_age", empty_label=ANY
    )
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
        areas: QuerySet[Area] | None = None,
        **kwargs: Any,
    ) -> None:
        if queryset is None:
            queryset = reports_visible_to(getattr(request, "user", None))
        super().__init__(data, queryset, request=request, **kwargs)
        if areas is not None:  # the neighbourhoods offered, and the only ones accepted
            self.filters["area"].queryset = areas

    def filter_queryset(self, queryset: QuerySet[Report]) -> QuerySet[Report]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("ordering"):  # the default sort, also when unbound
            queryset = work_order(queryset, self.overdue_condition)
        return queryset

    @cached_property
    def overdue_condition(self) -> Q | None:
        """The overdue condition (`selectors.overdue_q`), read once per filter: it costs a query."""
        return selectors.overdue_q()

    def queryset_without(self, name: str) -> QuerySet[Report]:
        """The reports passing every filter but `name`, unordered: what picking another value of
        it would show (the queue's counts per state)."""
        self.errors  # noqa: B018  (validates the form, as `qs` does; invalid values are left out)
        queryset = self.queryset.all()
        for field, value in self.form.cleaned_data.items():
            if field not in (name, "ordering"):
                queryset = self.filters[field].filter(queryset, value)
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
        if value == "work":
            return work_order(queryset, self.overdue_condition)
        if value == "priority":
            return queryset.annotate(priority_rank=_priority_rank()).order_by(
                "priority_rank", "-created_at"
            )
        return queryset.order_by(value, "-id")


def _priority_rank() -> Case:
    return Case(
        *(When(priority=p, then=Value(n)) for p, n in PRIORITY_RANK.items()),
        default=Value(9),
        output_field=IntegerField(),
    )


def work_order(reports: QuerySet[Report], condition: Q | None) -> QuerySet[Report]:
    """Overdue first (`condition`, from `selectors.overdue_q`), then by priority, then the
    longest waiting (oldest first).

    The ranks are annotated, not aliased: the staff queryset may be DISTINCT, and PostgreSQL
    orders a DISTINCT query only by what it selects. Without targets nobody is overdue, and
    the rank is left out (a constant would read as a column position)."""
    reports = reports.annotate(priority_rank=_priority_rank())
    if condition is None:
        return reports.order_by("priority_rank", "created_at", "id")
    overdue = Case(When(condition, then=Value(0)), default=Value(1), output_field=IntegerField())
    return reports.annotate(overdue_rank=overdue).order_by(
        "overdue_rank", "priority_rank", "created_at", "id"
    )
