"""Statistics for staff: what an authority received and did in a period, computed by the database.

Definitions (docs/staff-stats.md has the reasons):

- Unconfirmed and spam reports count nowhere.
- received = became public (``confirmed_at``) in the period; verified, fixed and closed = the
  milestone time (``verified_at``, ``fixed_at``, ``closed_at``) falls in the period. Closed counts
  every finishing outcome (closed, duplicate, not the council's responsibility).
- time to verify = ``verified_at - confirmed_at``, time to fix = ``fixed_at - confirmed_at``, for
  the reports verified / fixed in the period; median and 90th percentile are PostgreSQL's
  ``percentile_cont`` (linear interpolation), and the same formula in Python on SQLite.
- backlog at the end of a bucket = reports public by then and neither fixed nor closed by then
  (the earlier of ``fixed_at`` and ``closed_at``). A reopened report has its fix and close times
  cleared, so it counts as unresolved since it was first received.

Where the numbers come from: on PostgreSQL the counts, "me too"s and backlog come from the daily
rollup (reports.StatsDay, kept exact by database triggers, installed by migration 0009; the SQL
is at the end of this module), the percentiles and the heat map from index-only scans of the
reports of the period. On SQLite everything is counted from the reports. Either way the page
costs the same number of queries at any size.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Floor, Trunc
from django.utils import timezone

from authorities.models import Category
from config.replica import read_connection
from reports.models import HIDDEN_STATES, Report, StatsDay, StatsKind, Support

PERCENTILES = (0.5, 0.9)
HEAT_CELL_DEGREES = 0.004  # about 450 m x 330 m in Barcelona: a few blocks
HEAT_MAX_CELLS = 2500


@dataclass(frozen=True)
class Period:
    """Local calendar days ``first`` to ``last`` inclusive, as aware [start, end) times."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return _local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return _local_midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def bucket(self) -> str:
        """The backlog chart's step: days up to a quarter, weeks up to two years, then months."""
        if self.days <= 92:
            return "day"
        return "week" if self.days <= 731 else "month"


@dataclass
class CategoryStats:
    category_id: int | None  # None: the total line
    name: str
    received: int = 0
    verified: int = 0
    fixed: int = 0
    closed: int = 0
    supports: int = 0
    # seconds, by percentile: {0.5: ..., 0.9: ...}; None when nothing was verified / fixed
    to_verify: dict[float, float | None] = field(default_factory=dict)
    to_fix: dict[float, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class BacklogPoint:
    bucket: date  # first local day of the bucket
    received: int
    resolved: int
    backlog: int  # at the end of the bucket


@dataclass(frozen=True)
class HeatCell:
    south: float
    west: float
    north: float
    east: float
    count: int


@dataclass
class Statistics:
    period: Period
    categories: list[CategoryStats]
    total: CategoryStats
    backlog: list[BacklogPoint]
    heat: list[HeatCell]


def percentile_cont(ordered: Sequence[float], fraction: float) -> float | None:
    """The same interpolation as PostgreSQL's percentile_cont, over an ascending sequence."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def counted_reports(authority_ids: Iterable[int] | None) -> QuerySet[Report]:
    """The reports statistics count: public ones, of the given authorities (None: all)."""
    reports = Report.objects.exclude(state__in=HIDDEN_STATES).filter(confirmed_at__isnull=False)
    if authority_ids is not None:
        reports = reports.filter(authority_id__in=list(authority_ids))
    return reports


def uses_rollup() -> bool:
    """PostgreSQL keeps the daily rollup by triggers (migration 0009); SQLite counts the reports
    themselves (its databases are small)."""
    return connection.vendor == "postgresql"


def statistics(*, authority_ids: Iterable[int] | None, period: Period) -> Statistics:
    """All figures of the statistics page for these authorities (None: every authority)."""
    ids = None if authority_ids is None else sorted(set(authority_ids))
    reports = counted_reports(ids)
    source = _from_rollup(ids, period) if uses_rollup() else _from_reports(reports, ids, period)
    by_category, overall = _with_percentiles(source.counts, reports, period)
    rows = _named(by_category)
    return Statistics(
        period=period,
        categories=rows,
        total=_total(rows, overall),
        backlog=_backlog(source, period),
        heat=_heat(reports, period),
    )


@dataclass
class _Counts:
    """What the rollup or the reports give: counts per category and kind in the period, what was
    received and resolved before it, and per bucket of the period."""

    counts: dict[int, dict[str, int]]
    received_before: int
    resolved_before: int
    received: dict[date, int]
    resolved: dict[date, int]


PERIOD_KINDS = (
    StatsKind.RECEIVED,
    StatsKind.VERIFIED,
    StatsKind.FIXED,
    StatsKind.CLOSED,
    StatsKind.SUPPORTS,
)


# --- from the daily rollup (PostgreSQL) ----------------------------------------------------------


def _from_rollup(ids: list[int] | None, period: Period) -> _Counts:
    days = StatsDay.objects.filter(day__lte=period.last)
    if ids is not None:
        days = days.filter(authority_id__in=ids)
    during = Q(day__gte=period.first)
    before = Q(day__lt=period.first)
    rows = (
        days.values("category_id")
        .annotate(
            **{str(k): Sum("n", filter=during & Q(kind=k), default=0) for k in PERIOD_KINDS},
            received_before=Sum("n", filter=before & Q(kind=StatsKind.RECEIVED), default=0),
            resolved_before=Sum("n", filter=before & Q(kind=StatsKind.RESOLVED), default=0),
        )
        .order_by()
    )
    counts, received_before, resolved_before = _split_before(rows)
    buckets: dict[str, dict[date, int]] = {StatsKind.RECEIVED: {}, StatsKind.RESOLVED: {}}
    per_bucket = (
        days.filter(during, kind__in=list(buckets))
        .annotate(bucket=Trunc("day", period.bucket, output_field=DateField()))
        .values("bucket", "kind")
        .annotate(total=Sum("n"))
        .order_by()
    )
    for row in per_bucket:
        if row["total"]:  # a report that left a day leaves a zero behind it
            buckets[row["kind"]][row["bucket"]] = row["total"]
    return _Counts(
        counts,
        received_before,
        resolved_before,
        buckets[StatsKind.RECEIVED],
        buckets[StatsKind.RESOLVED],
    )


def _split_before(rows: Iterable[Any]) -> tuple[dict[int, dict[str, int]], int, int]:
    counts: dict[int, dict[str, int]] = {}
    received_before = resolved_before = 0
    for row in rows:
        received_before += row["received_before"]
        resolved_before += row["resolved_before"]
        kinds = {str(kind): row.get(kind, 0) for kind in PERIOD_KINDS}
        if any(kinds.values()):
            counts[row["category_id"]] = kinds
    return counts, received_before, resolved_before


# --- from the reports themselves (SQLite) --------------------------------------------------------


def _in(field_name: str, period: Period) -> Q:
    return Q(**{f"{field_name}__gte": period.start, f"{field_name}__lt": period.end})


def _resolved_at() -> Coalesce:
    # fixed_at <= closed_at whenever both are set (a reopen clears both), so this is the earlier.
    return Coalesce("fixed_at", "closed_at", output_field=DateTimeField())


def _from_reports(reports: QuerySet[Report], ids: list[int] | None, period: Period) -> _Counts:
    rows = (
        reports.filter(confirmed_at__lt=period.end)
        .annotate(resolved=_resolved_at())
        .values("category_id")
        .annotate(
            received=Count("pk", filter=_in("confirmed_at", period)),
            verified=Count("pk", filter=_in("verified_at", period)),
            fixed=Count("pk", filter=_in("fixed_at", period)),
            closed=Count("pk", filter=_in("closed_at", period)),
            received_before=Count("pk", filter=Q(confirmed_at__lt=period.start)),
            resolved_before=Count("pk", filter=Q(resolved__lt=period.start)),
        )
        .order_by()
    )
    counts, received_before, resolved_before = _split_before(rows)
    _add_supports(counts, ids, period)
    return _Counts(
        counts,
        received_before,
        resolved_before,
        _per_bucket(reports, F("confirmed_at"), period),
        _per_bucket(reports, _resolved_at(), period),
    )


def _add_supports(
    counts: dict[int, dict[str, int]], authority_ids: list[int] | None, period: Period
) -> None:
    """ "Me too"s given in the period to counted reports, per category of the report."""
    supports = Support.objects.filter(_in("created_at", period), report__confirmed_at__isnull=False)
    supports = supports.exclude(report__state__in=HIDDEN_STATES)
    if authority_ids is not None:
        supports = supports.filter(report__authority_id__in=authority_ids)
    rows = supports.values("report__category_id").annotate(n=Count("pk")).order_by()
    for row in rows:
        empty = {str(kind): 0 for kind in PERIOD_KINDS}
        counts.setdefault(row["report__category_id"], empty)[StatsKind.SUPPORTS] = row["n"]


def _per_bucket(reports: QuerySet[Report], moment: Any, period: Period) -> dict[date, int]:
    rows = (
        reports.annotate(moment=moment)
        .filter(moment__gte=period.start, moment__lt=period.end)
        .annotate(bucket=Trunc("moment", period.bucket, output_field=DateTimeField()))
        .values("bucket")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {timezone.localtime(row["bucket"]).date(): row["n"] for row in rows}


# --- percentiles ---------------------------------------------------------------------------------

Percentiles = tuple[dict[float, float | None], dict[float, float | None]]  # to verify, to fix


def _seconds(milestone: str) -> Func:
    return Func(
        F(milestone) - F("confirmed_at"),
        # date_part gives a float; EXTRACT gives numeric since PostgreSQL 14, twice as slow
        # to sort in the percentiles.
        template="date_part('epoch', %(expressions)s)",
        output_field=FloatField(),
    )


def _with_percentiles(
    counts: dict[int, dict[str, int]], reports: QuerySet[Report], period: Period
) -> tuple[dict[int, CategoryStats], Percentiles]:
    """Counts become CategoryStats with their percentiles; the second value is the percentiles
    over every category together (they do not add up)."""
    if connection.vendor == "postgresql":
        found = _postgres_percentiles(reports, period)
    else:
        found = _python_percentiles(reports, period)
    none = dict.fromkeys(PERCENTILES)
    by_category = {}
    for category_id, kinds in counts.items():
        to_verify, to_fix = found.get(category_id, (none, none))
        by_category[category_id] = CategoryStats(
            category_id, "", **{str(k): v for k, v in kinds.items()},
            to_verify=to_verify, to_fix=to_fix,
        )  # fmt: skip
    return by_category, found.get(None, (none, none))


def _postgres_percentiles(
    reports: QuerySet[Report], period: Period
) -> dict[int | None, Percentiles]:
    """One query: percentile_cont of both durations per category and, by ROLLUP, over all
    (category None). An array of fractions sorts each group once for both percentiles."""
    durations = [
        reports.filter(_in(milestone, period))
        .annotate(kind=Value(milestone), seconds=_seconds(milestone))
        .values("category_id", "kind", "seconds")
        .order_by()
        for milestone in ("verified_at", "fixed_at")
    ]
    inner, params = durations[0].union(durations[1], all=True).query.sql_with_params()
    fractions = ", ".join(str(float(p)) for p in PERCENTILES)
    within = f"percentile_cont(ARRAY[{fractions}]::float8[]) WITHIN GROUP (ORDER BY seconds)"
    # The ORM has no ROLLUP: the rows are its SQL (with its parameters), only the grouping is
    # written here, from constants. Each half of the UNION is an index-only scan (0009).
    sql = (
        f"SELECT category_id, {within} FILTER (WHERE kind = 'verified_at'),"  # noqa: S608
        f" {within} FILTER (WHERE kind = 'fixed_at')"
        f" FROM ({inner}) AS durations GROUP BY ROLLUP (category_id)"
    )
    with read_connection(Report).cursor() as cursor:  # raw SQL: the router's choice by hand
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        category_id: (dict(zip(PERCENTILES, verify or [None] * 2, strict=True)),
                      dict(zip(PERCENTILES, fix or [None] * 2, strict=True)))
        for category_id, verify, fix in rows
    }  # fmt: skip


def _durations(
    reports: QuerySet[Report], milestone: str, period: Period
) -> dict[int | None, list[float]]:
    """Seconds from confirmation to the milestone per category (None: all), ascending."""
    found: dict[int | None, list[float]] = defaultdict(list)
    rows = (
        reports.filter(_in(milestone, period))
        .values_list("category_id", "confirmed_at", milestone)
        .order_by()
    )
    for category_id, confirmed_at, reached_at in rows.iterator(chunk_size=5000):
        seconds = (reached_at - confirmed_at).total_seconds()
        found[category_id].append(seconds)
        found[None].append(seconds)
    for values in found.values():
        values.sort()
    return found


def _python_percentiles(reports: QuerySet[Report], period: Period) -> dict[int | None, Percentiles]:
    """SQLite has no percentile_cont: fetch the durations (two narrow queries) and interpolate."""
    verify = _durations(reports, "verified_at", period)
    fix = _durations(reports, "fixed_at", period)
    return {
        key: (
            {p: percentile_cont(verify.get(key, []), p) for p in PERCENTILES},
            {p: percentile_cont(fix.get(key, []), p) for p in PERCENTILES},
        )
        for key in set(verify) | set(fix)
    }


def _named(found: dict[int, CategoryStats]) -> list[CategoryStats]:
    names = dict(Category.objects.filter(pk__in=list(found)).values_list("pk", "name"))
    for category_id, stats in found.items():
        stats.name = names.get(category_id, "?")
    return sorted(found.values(), key=lambda s: (-s.received, s.name))


def _total(rows: list[CategoryStats], overall: Percentiles) -> CategoryStats:
    total = CategoryStats(None, "", to_verify=overall[0], to_fix=overall[1])
    for row in rows:
        total.received += row.received
        total.verified += row.verified
        total.fixed += row.fixed
        total.closed += row.closed
        total.supports += row.supports
    return total


# --- backlog over time ---------------------------------------------------------------------------


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def bucket_starts(period: Period) -> list[date]:
    """The first local day of every bucket that overlaps the period, in order."""
    kind, day = period.bucket, period.first
    if kind == "week":
        day -= timedelta(days=day.weekday())
    elif kind == "month":
        day = day.replace(day=1)
    starts = []
    while day <= period.last:
        starts.append(day)
        if kind == "month":
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            day += timedelta(days=7 if kind == "week" else 1)
    return starts


def _backlog(counts: _Counts, period: Period) -> list[BacklogPoint]:
    backlog = counts.received_before - counts.resolved_before
    points = []
    for start in bucket_starts(period):
        came, went = counts.received.get(start, 0), counts.resolved.get(start, 0)
        backlog += came - went
        points.append(BacklogPoint(start, came, went, backlog))
    return points


# --- heat map ------------------------------------------------------------------------------------


def _heat(reports: QuerySet[Report], period: Period) -> list[HeatCell]:
    """Reports received in the period counted per grid cell, busiest first (at most
    HEAT_MAX_CELLS): the map draws each cell as a rectangle, so it needs no heat plugin."""
    size = HEAT_CELL_DEGREES
    rows = (
        reports.filter(_in("confirmed_at", period))
        .annotate(row=Floor(F("latitude") / size), column=Floor(F("longitude") / size))
        .values("row", "column")
        .annotate(n=Count("*"))  # not the id: the covering index (0009) answers alone
        .order_by("-n", "row", "column")[:HEAT_MAX_CELLS]
    )
    return [
        HeatCell(
            south=round(row["row"] * size, 6),
            west=round(row["column"] * size, 6),
            north=round((row["row"] + 1) * size, 6),
            east=round((row["column"] + 1) * size, 6),
            count=row["n"],
        )
        for row in rows
    ]


# --- the rollup's triggers (PostgreSQL) ----------------------------------------------------------
#
# Triggers rather than a signal listener: a reopen clears fixed_at and closed_at and a re-route
# changes authority and category, and only the database sees the values before the change (OLD).
# They also catch every way of writing (services, admin, bulk updates, COPY). A row's contribution
# is taken away with its OLD values and added with its NEW ones, so the rollup stays exact.
# Days are local days of settings.TIME_ZONE, fixed when the functions are installed: after
# changing TIME_ZONE, run stats_rollup_install() again (it rebuilds the rollup).

_HIDDEN_SQL = ", ".join(f"'{state}'" for state in sorted(HIDDEN_STATES))
_ROLLUP_FUNCTIONS = """
CREATE OR REPLACE FUNCTION fixpoint_stats_bump(p_day date, p_authority bigint, p_category bigint,
                                               p_kind text, p_n integer) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO reports_statsday (day, authority_id, category_id, kind, n)
  VALUES (p_day, p_authority, p_category, p_kind, p_n)
  ON CONFLICT (day, authority_id, category_id, kind)
  DO UPDATE SET n = reports_statsday.n + EXCLUDED.n
$$;

CREATE OR REPLACE FUNCTION fixpoint_stats_report(r reports_report, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF r.state IN (%(hidden)s) OR r.confirmed_at IS NULL THEN RETURN; END IF;
  PERFORM fixpoint_stats_bump((r.confirmed_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                              r.category_id, 'received', sign);
  IF r.verified_at IS NOT NULL THEN
    PERFORM fixpoint_stats_bump((r.verified_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                                r.category_id, 'verified', sign);
  END IF;
  IF r.fixed_at IS NOT NULL THEN
    PERFORM fixpoint_stats_bump((r.fixed_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                                r.category_id, 'fixed', sign);
  END IF;
  IF r.closed_at IS NOT NULL THEN
    PERFORM fixpoint_stats_bump((r.closed_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                                r.category_id, 'closed', sign);
  END IF;
  IF COALESCE(r.fixed_at, r.closed_at) IS NOT NULL THEN
    PERFORM fixpoint_stats_bump((COALESCE(r.fixed_at, r.closed_at) AT TIME ZONE %(tz)s)::date,
                                r.authority_id, r.category_id, 'resolved', sign);
  END IF;
  -- The report's "me too"s count under its authority and category: they move with it.
  INSERT INTO reports_statsday (day, authority_id, category_id, kind, n)
  SELECT (s.created_at AT TIME ZONE %(tz)s)::date, r.authority_id, r.category_id, 'supports',
         sign * count(*)::integer
  FROM reports_support s WHERE s.report_id = r.id GROUP BY 1
  ON CONFLICT (day, authority_id, category_id, kind)
  DO UPDATE SET n = reports_statsday.n + EXCLUDED.n;
END $$;

CREATE OR REPLACE FUNCTION fixpoint_stats_support(s reports_support, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE r reports_report;
BEGIN
  SELECT * INTO r FROM reports_report WHERE id = s.report_id;
  IF NOT FOUND OR r.state IN (%(hidden)s) OR r.confirmed_at IS NULL THEN RETURN; END IF;
  PERFORM fixpoint_stats_bump((s.created_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                              r.category_id, 'supports', sign);
END $$;

CREATE OR REPLACE FUNCTION fixpoint_stats_report_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Every filing: a new report with no milestone but its confirmation, and no "me too" yet.
  -- One upsert here, a quarter of the general path's cost (docs/benchmarks.md).
  IF TG_OP = 'INSERT' AND NEW.verified_at IS NULL AND NEW.fixed_at IS NULL
     AND NEW.closed_at IS NULL THEN
    IF NEW.state NOT IN (%(hidden)s) AND NEW.confirmed_at IS NOT NULL THEN
      INSERT INTO reports_statsday (day, authority_id, category_id, kind, n)
      VALUES ((NEW.confirmed_at AT TIME ZONE %(tz)s)::date, NEW.authority_id, NEW.category_id,
              'received', 1)
      ON CONFLICT (day, authority_id, category_id, kind)
      DO UPDATE SET n = reports_statsday.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM fixpoint_stats_report(OLD, -1); END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN PERFORM fixpoint_stats_report(NEW, 1); END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION fixpoint_stats_support_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM fixpoint_stats_support(OLD, -1); END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN PERFORM fixpoint_stats_support(NEW, 1); END IF;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS fixpoint_stats_report_rows ON reports_report;
CREATE TRIGGER fixpoint_stats_report_rows AFTER INSERT OR DELETE ON reports_report
  FOR EACH ROW EXECUTE FUNCTION fixpoint_stats_report_changed();
DROP TRIGGER IF EXISTS fixpoint_stats_report_update ON reports_report;
CREATE TRIGGER fixpoint_stats_report_update AFTER UPDATE ON reports_report FOR EACH ROW
  WHEN ((OLD.state, OLD.authority_id, OLD.category_id, OLD.confirmed_at, OLD.verified_at,
         OLD.fixed_at, OLD.closed_at) IS DISTINCT FROM
        (NEW.state, NEW.authority_id, NEW.category_id, NEW.confirmed_at, NEW.verified_at,
         NEW.fixed_at, NEW.closed_at))
  EXECUTE FUNCTION fixpoint_stats_report_changed();
DROP TRIGGER IF EXISTS fixpoint_stats_support_rows ON reports_support;
CREATE TRIGGER fixpoint_stats_support_rows AFTER INSERT OR UPDATE OR DELETE ON reports_support
  FOR EACH ROW EXECUTE FUNCTION fixpoint_stats_support_changed();
"""
_ROLLUP_DROP = """
DROP TRIGGER IF EXISTS fixpoint_stats_report_rows ON reports_report;
DROP TRIGGER IF EXISTS fixpoint_stats_report_update ON reports_report;
DROP TRIGGER IF EXISTS fixpoint_stats_support_rows ON reports_support;
DROP FUNCTION IF EXISTS fixpoint_stats_report_changed();
DROP FUNCTION IF EXISTS fixpoint_stats_support_changed();
DROP FUNCTION IF EXISTS fixpoint_stats_report(reports_report, integer);
DROP FUNCTION IF EXISTS fixpoint_stats_support(reports_support, integer);
DROP FUNCTION IF EXISTS fixpoint_stats_bump(date, bigint, bigint, text, integer);
"""
_ROLLUP_REBUILD = """
INSERT INTO reports_statsday (day, authority_id, category_id, kind, n)
SELECT (moment AT TIME ZONE %(tz)s)::date, authority_id, category_id, kind, count(*)
FROM (
  SELECT confirmed_at AS moment, authority_id, category_id, 'received' AS kind FROM counted
  UNION ALL SELECT verified_at, authority_id, category_id, 'verified' FROM counted
    WHERE verified_at IS NOT NULL
  UNION ALL SELECT fixed_at, authority_id, category_id, 'fixed' FROM counted
    WHERE fixed_at IS NOT NULL
  UNION ALL SELECT closed_at, authority_id, category_id, 'closed' FROM counted
    WHERE closed_at IS NOT NULL
  UNION ALL SELECT COALESCE(fixed_at, closed_at), authority_id, category_id, 'resolved'
    FROM counted WHERE COALESCE(fixed_at, closed_at) IS NOT NULL
  UNION ALL SELECT s.created_at, c.authority_id, c.category_id, 'supports'
    FROM reports_support s JOIN counted c ON c.id = s.report_id
) AS events
GROUP BY 1, 2, 3, 4
"""


def _quoted_zone() -> str:
    zone = str(settings.TIME_ZONE)
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", zone):
        raise ValueError(f"Unexpected TIME_ZONE {zone!r}")
    return f"'{zone}'"


def stats_rollup_install(using: str = "default") -> None:
    """(Re)create the rollup's functions and triggers for settings.TIME_ZONE, then rebuild it."""
    stats_rollup_functions_install(using=using)
    stats_rollup_rebuild(using=using)


def stats_rollup_functions_install(using: str = "default") -> None:
    """(Re)create the functions and triggers only: for a new version of them, same counts."""
    with connections[using].cursor() as cursor:
        cursor.execute(_ROLLUP_FUNCTIONS % {"tz": _quoted_zone(), "hidden": _HIDDEN_SQL})


def stats_rollup_uninstall(using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(_ROLLUP_DROP)


def stats_rollup_rebuild(using: str = "default") -> int:
    """Count everything again from the reports (after a bulk load with triggers off, or a change
    of TIME_ZONE). The lock makes writers wait, so none of their changes is lost or counted
    twice. Returns the number of rollup rows."""
    counted = (
        f"SELECT id, authority_id, category_id, confirmed_at, verified_at, fixed_at, closed_at"  # noqa: S608
        f" FROM reports_report WHERE confirmed_at IS NOT NULL AND state NOT IN ({_HIDDEN_SQL})"
    )
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("LOCK TABLE reports_statsday IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM reports_statsday")
        rebuild = _ROLLUP_REBUILD % {"tz": _quoted_zone()}
        cursor.execute(f"WITH counted AS ({counted}) {rebuild}")
        return cursor.rowcount
