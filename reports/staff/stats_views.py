"""The staff statistics page (/staff/stats/) and the queue's CSV export (/staff/export.csv)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from authorities import permissions
from authorities.models import Authority
from config.params import DayField
from config.replica import replica_reads

from . import exports
from .decorators import staff_required
from .filters import day_input
from .stats import PERCENTILES, BacklogPoint, CategoryStats, Period, statistics

PRESETS = (
    ("30d", _("Last 30 days")),
    ("7d", _("Last 7 days")),
    ("90d", _("Last 90 days")),
    ("12m", _("Last 12 months")),
    ("year", _("This year")),
    ("custom", _("Dates below")),
)
PRESET_DAYS = {"7d": 7, "30d": 30, "90d": 90, "12m": 365}
MAX_DAYS = 5 * 366  # a longer period is a typo more often than a wish


class StatsForm(forms.Form):
    authority = forms.ModelChoiceField(
        queryset=Authority.objects.none(), required=False, empty_label=_("All my authorities")
    )
    preset = forms.ChoiceField(label=_("Period"), choices=PRESETS, required=False)
    date_from = DayField(
        label=_("From"),
        required=False,
        widget=day_input(),
    )
    date_to = DayField(
        label=_("To"),
        required=False,
        widget=day_input(),
    )

    def __init__(
        self, *args: Any, authorities: QuerySet[Authority], every_one: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["authority"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 (for mypy)
        field.queryset = authorities
        if every_one:
            field.empty_label = _("All authorities")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if data.get("preset") == "custom" or first or last:
            if not (first and last):
                raise forms.ValidationError(_("Give both dates of the period, or pick a preset."))
            if first > last:
                raise forms.ValidationError(_("The period must start before it ends."))
            if (last - first).days >= MAX_DAYS:
                raise forms.ValidationError(_("Choose a period of at most five years."))
        return data

    def period(self, today: date) -> Period:
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("date_from") and data.get("date_to"):
            return Period(data["date_from"], data["date_to"])
        preset = data.get("preset") or "30d"
        if preset == "year":
            return Period(today.replace(month=1, day=1), today)
        return Period(today - timedelta(days=PRESET_DAYS.get(preset, 30) - 1), today)


@staff_required
@require_GET
@replica_reads
def stats_page(request: HttpRequest) -> HttpResponse:
    """Statistics of the user's authorities (or one of them) for a period."""
    authorities = permissions.staff_authorities(request.user)
    form = StatsForm(
        request.GET or None, authorities=authorities, every_one=request.user.is_superuser
    )
    if form.is_bound and "authority" in form.errors:
        raise Http404("No such authority among yours.")  # a guessed id learns nothing more
    chosen = form.cleaned_data.get("authority") if form.is_bound else None
    if chosen is not None:
        ids: list[int] | None = [chosen.pk]
    elif request.user.is_superuser:
        ids = None  # every authority, without listing them in the query
    else:
        ids = list(authorities.values_list("pk", flat=True))
        if not ids:  # staff_required found one: a replica that has not replayed it yet did not
            raise Http404("No authority among yours yet.")  # so the primary is asked
    figures = statistics(authority_ids=ids, period=form.period(timezone.localdate()))
    return render(
        request,
        "staff/stats.html",
        {
            "form": form,
            "chosen": chosen,
            "stats": figures,
            "rows": [_row(row) for row in figures.categories],
            "total": _row(figures.total),
            "chart": backlog_chart(figures.backlog),
            "heat_cells": [[c.south, c.west, c.north, c.east, c.count] for c in figures.heat],
            "busiest": figures.heat[:15],
        },
        # The page shows what was wrong next to the fields, over the default period's figures.
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@staff_required
@require_GET
@replica_reads(own_writes_unread=True)  # its audit row is never read back here
def export_csv(request: HttpRequest) -> HttpResponseBase:
    """The queue's reports (its filters, the user's scope) as CSV, streamed row by row."""
    try:
        export = exports.report_export(request=request, params=request.GET)
    except exports.UnknownAuthority:
        raise Http404("No such authority among yours.") from None
    except exports.InvalidFilters as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(export.rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"  # reporters' contact may be in it
    return response


# --- presentation --------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """A time span short enough for a table cell: minutes, hours or days."""
    if seconds is None:
        return "-"
    if seconds < 3600:
        return _("%(n)s min") % {"n": _number(seconds / 60, 0)}
    if seconds < 2 * 86400:
        return _("%(n)s h") % {"n": _number(seconds / 3600, 1)}
    return _("%(n)s days") % {"n": _number(seconds / 86400, 1)}


def _number(value: float, decimals: int) -> str:
    """In the page's language: "1.234,5" in Catalan, "1 234,5" in Spanish, "1,234.5" in English."""
    return number_format(round(value, decimals), decimal_pos=decimals, force_grouping=True)


def _row(stats: CategoryStats) -> dict[str, Any]:
    median, p90 = PERCENTILES
    return {
        "name": stats.name,
        "received": stats.received,
        "verified": stats.verified,
        "fixed": stats.fixed,
        "closed": stats.closed,
        "supports": stats.supports,
        "verify_median": duration(stats.to_verify.get(median)),
        "verify_p90": duration(stats.to_verify.get(p90)),
        "fix_median": duration(stats.to_fix.get(median)),
        "fix_p90": duration(stats.to_fix.get(p90)),
    }


CHART = {"width": 720, "height": 240, "left": 56, "right": 16, "top": 16, "bottom": 32}


def backlog_chart(points: list[BacklogPoint]) -> dict[str, Any]:
    """An SVG line chart of the backlog, laid out here so the page needs no chart library."""
    c = CHART
    inner_w = c["width"] - c["left"] - c["right"]
    inner_h = c["height"] - c["top"] - c["bottom"]
    top = max((p.backlog for p in points), default=0) or 1
    step = inner_w / max(len(points) - 1, 1)

    def xy(index: int, value: int) -> tuple[float, float]:
        return (
            round(c["left"] + index * step, 1),
            round(c["top"] + inner_h * (1 - value / top), 1),
        )

    coords = [xy(i, p.backlog) for i, p in enumerate(points)]
    baseline = c["top"] + inner_h
    line = " ".join(f"{x},{y}" for x, y in coords)
    area = f"{c['left']},{baseline} {line} {coords[-1][0]},{baseline}" if coords else ""
    return {
        **c,
        "line": line,
        "area": area,
        "baseline": baseline,
        "right_edge": c["width"] - c["right"],
        "y_ticks": [{"y": xy(0, value)[1], "label": value} for value in sorted({0, top // 2, top})],
        "x_ticks": [
            {"x": coords[i][0], "label": points[i].bucket, "anchor": anchor}
            for i, anchor in {
                0: "start",
                len(points) // 2: "middle",
                len(points) - 1: "end",
            }.items()
            if points
        ],
    }
