"""An authority's public performance: what it promised (each category's service levels) and what
it did in the last 12 months, beside the city as a whole. One function, `authority_performance`,
feeds the page (/authorities/<slug>/), the API (GET /api/v1/authorities/<slug>/performance/)
and the CSV, so they always show the same figures.

Definitions (docs/council-tools.md):

- Only public reports count (Report.objects.public(): never unconfirmed, spam or private).
- received = confirmed in the period; open = of those, open now; fixed = fixed in the period.
- time to fix = fixed_at - confirmed_at of the reports fixed in the period: the median and the
  90th percentile (PostgreSQL's percentile_cont interpolation, reports.staff.stats), in days;
  fixed within target = the share of them fixed within the category's `sla_fix_hours`.
- citizens' fix rate = of the "Has this been fixed?" questionnaires answered in the period about
  those reports, the share answered "fixed" (as reports.selectors.questionnaire_fix_rate counts,
  grouped here by category in one query and limited to public reports).
- The minimum rule: a category with fewer than PERFORMANCE_MIN_REPORTS reports received (by the
  authority, or in the whole city for the city's figures) shows its counts only; times, shares
  and rates need that many, so one report cannot top or sink a ranking.

The figures are cached per authority for PERFORMANCE_CACHE_SECONDS: the page is public and the
numbers move slowly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from authorities.models import Authority, AuthorityCategory, Category
from config import cache as shared_cache

from .models import OPEN_STATES, Questionnaire, QuestionnaireAnswer, Report
from .staff.stats import percentile_cont

PERIOD_DAYS = 365
DAY = 86400.0


@dataclass
class Figures:
    """What was received and done for one category (or all) by one authority (or the city)."""

    received: int = 0
    open: int = 0
    fixed: int = 0
    enough_reports: bool = False
    median_days_to_fix: float | None = None
    p90_days_to_fix: float | None = None
    fixed_within_target: float | None = None  # a share, 0 to 1
    questionnaires_answered: int = 0
    citizens_fix_rate: float | None = None  # a share, 0 to 1


@dataclass
class CategoryPerformance:
    slug: str
    name: str
    sla_verify_hours: int | None
    sla_fix_hours: int | None
    authority: Figures
    city: Figures


@dataclass
class Performance:
    authority_slug: str
    authority_name: str
    start: datetime
    end: datetime
    minimum_reports: int
    categories: list[CategoryPerformance] = field(default_factory=list)
    total: Figures = field(default_factory=Figures)
    city_total: Figures = field(default_factory=Figures)

    def as_dict(self) -> dict[str, Any]:
        """The API's shape (and the CSV's columns)."""
        return {
            "authority": {"slug": self.authority_slug, "name": self.authority_name},
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "minimum_reports": self.minimum_reports,
            "categories": [
                {
                    "category": c.slug,
                    "name": c.name,
                    "sla_verify_hours": c.sla_verify_hours,
                    "sla_fix_hours": c.sla_fix_hours,
                    **asdict(c.authority),
                    "city": asdict(c.city),
                }
                for c in self.categories
            ],
            "total": {**asdict(self.total), "city": asdict(self.city_total)},
        }


def authority_performance(authority: Authority, *, now: datetime | None = None) -> Performance:
    """The authority's figures, from the cache when they are there (only for `now` = None)."""
    if now is not None or shared_cache.unreachable():
        return _compute(authority, now or timezone.now())
    key = f"performance:v1:{authority.pk}"
    found: Performance | None = cache.get(key)
    if found is None:
        found = _compute(authority, timezone.now())
        cache.set(key, found, settings.FIXPOINT_PERFORMANCE_CACHE_SECONDS)
    return found


# --- computing -----------------------------------------------------------------------------------


Key = tuple[int | None, bool]  # (category id or None for all, True: this authority only)


def _compute(authority: Authority, now: datetime) -> Performance:
    start = now - timedelta(days=PERIOD_DAYS)
    minimum = settings.FIXPOINT_PERFORMANCE_MIN_REPORTS
    categories = _categories(authority, start)
    targets = {c.pk: c.sla_fix_hours for c in categories}
    figures: dict[Key, Figures] = defaultdict(Figures)
    _count(figures, authority.pk, start)
    _times(figures, authority.pk, start, targets)
    _answers(figures, authority.pk, start)
    for found in figures.values():
        _apply_minimum(found, minimum)
    return Performance(
        authority_slug=authority.slug,
        authority_name=authority.name,
        start=start,
        end=now,
        minimum_reports=minimum,
        categories=[
            CategoryPerformance(
                c.slug,
                c.name,
                c.sla_verify_hours,
                c.sla_fix_hours,
                figures[(c.pk, True)],
                figures[(c.pk, False)],
            )
            for c in categories
        ],
        total=figures[(None, True)],
        city_total=figures[(None, False)],
    )


def _categories(authority: Authority, start: datetime) -> list[Category]:
    """The categories the authority handles, and any it received reports in meanwhile."""
    handled = AuthorityCategory.objects.filter(authority=authority, is_active=True)
    received = Report.objects.public().filter(authority=authority, confirmed_at__gte=start)
    return list(
        Category.objects.filter(
            Q(pk__in=handled.values("category_id")) | Q(pk__in=received.values("category_id"))
        ).order_by("group", "order", "name")
    )


def _keys(category_id: int, authority_id: int, ours: int) -> Iterable[Key]:
    yield (category_id, False)
    yield (None, False)
    if authority_id == ours:
        yield (category_id, True)
        yield (None, True)


def _count(figures: dict[Key, Figures], ours: int, start: datetime) -> None:
    rows = (
        Report.objects.public()
        .filter(confirmed_at__gte=start)
        .values("category_id", "authority_id")
        .annotate(received=Count("pk"), open=Count("pk", filter=Q(state__in=OPEN_STATES)))
        .order_by()
    )
    for row in rows:
        for key in _keys(row["category_id"], row["authority_id"], ours):
            figures[key].received += row["received"]
            figures[key].open += row["open"]


def _times(
    figures: dict[Key, Figures], ours: int, start: datetime, targets: dict[int, int | None]
) -> None:
    rows = (
        Report.objects.public()
        .filter(fixed_at__gte=start, confirmed_at__isnull=False)
        .values_list("category_id", "authority_id", "confirmed_at", "fixed_at")
        .order_by()
    )
    seconds: dict[Key, list[float]] = defaultdict(list)
    in_time: dict[Key, list[bool]] = defaultdict(list)
    for category_id, authority_id, confirmed_at, fixed_at in rows.iterator(chunk_size=5000):
        if fixed_at is None or confirmed_at is None:  # filtered out: for the type checker
            continue
        taken = max((fixed_at - confirmed_at).total_seconds(), 0.0)
        target = targets.get(category_id)
        for key in _keys(category_id, authority_id, ours):
            seconds[key].append(taken)
            if target:
                in_time[key].append(taken <= target * 3600)
    for key, values in seconds.items():
        values.sort()
        found = figures[key]
        found.fixed = len(values)
        found.median_days_to_fix = _days(percentile_cont(values, 0.5))
        found.p90_days_to_fix = _days(percentile_cont(values, 0.9))
        checks = in_time.get(key)
        found.fixed_within_target = sum(checks) / len(checks) if checks else None


def _answers(figures: dict[Key, Figures], ours: int, start: datetime) -> None:
    rows = (
        Questionnaire.objects.filter(
            answered_at__gte=start,
            report__in=Report.objects.public().values("pk"),
        )
        .exclude(answer="")
        .values("report__category_id", "report__authority_id")
        .annotate(
            answered=Count("pk"), fixed=Count("pk", filter=Q(answer=QuestionnaireAnswer.FIXED))
        )
        .order_by()
    )
    fixed: dict[Key, int] = defaultdict(int)
    for row in rows:
        for key in _keys(row["report__category_id"], row["report__authority_id"], ours):
            figures[key].questionnaires_answered += row["answered"]
            fixed[key] += row["fixed"]
    for key, found in figures.items():
        if found.questionnaires_answered:
            found.citizens_fix_rate = fixed[key] / found.questionnaires_answered


def _apply_minimum(found: Figures, minimum: int) -> None:
    found.enough_reports = found.received >= minimum
    if not found.enough_reports:
        found.median_days_to_fix = found.p90_days_to_fix = None
        found.fixed_within_target = found.citizens_fix_rate = None


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / DAY, 1)


# --- CSV -----------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "authority",
    "category",
    "name",
    "sla_verify_hours",
    "sla_fix_hours",
    "received",
    "open",
    "fixed",
    "enough_reports",
    "median_days_to_fix",
    "p90_days_to_fix",
    "fixed_within_target",
    "questionnaires_answered",
    "citizens_fix_rate",
    "city_received",
    "city_open",
    "city_fixed",
    "city_enough_reports",
    "city_median_days_to_fix",
    "city_p90_days_to_fix",
    "city_fixed_within_target",
    "city_questionnaires_answered",
    "city_citizens_fix_rate",
]


def csv_rows(performance: Performance) -> Iterable[list[Any]]:
    """One row per category and a last row "all" with the totals, for open-data portals."""
    yield CSV_COLUMNS
    rows = [
        (c.slug, c.name, c.sla_verify_hours, c.sla_fix_hours, c.authority, c.city)
        for c in performance.categories
    ]
    rows.append(("all", "", None, None, performance.total, performance.city_total))
    for slug, name, verify, fix, ours, city in rows:
        yield [
            performance.authority_slug,
            slug,
            name,
            _blank(verify),
            _blank(fix),
            *(_blank(v) for v in asdict(ours).values()),
            *(_blank(v) for v in asdict(city).values()),
        ]


def _blank(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return round(value, 3)
    return value
