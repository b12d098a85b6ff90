"""What the benchmarks share: a throw-away database, and reports written in bulk.

Rows are written straight into reports_report (COPY on PostgreSQL, executemany on SQLite), so
required columns a script's rows do not fill get the model's default here: the database has no
defaults of its own.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

# What a benchmarked Fixpoint needs to start with DEBUG off: keys for the run only (the Fernet key
# is 32 bytes of "bench-only" text, base64: nothing it encrypts is secret).
BENCH_KEYS = {
    "SECRET_KEY": "bench-only-" + "x" * 50,
    "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktMzI=",
}


def configure_in_process(database_url: str, **more: str) -> None:
    """Set Django up in this process as production runs it (DEBUG off, so no query log), on
    plain HTTP with a per-process cache, then ``more`` settings."""
    import os
    import warnings

    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "CACHE_URL": "locmemcache://",
            "DEBUG": "false",
            "SECURE_HTTPS": "false",  # the test client speaks plain HTTP
            "STATIC_MANIFEST": "false",  # no collectstatic for a benchmark
            **more,
        }
    )
    for name, value in BENCH_KEYS.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here
    import django

    django.setup()


STATES = {  # share of each state among the seeded reports
    "open": 30,
    "verified": 5,
    "in_progress": 5,
    "fixed": 25,
    "closed": 23,
    "duplicate": 3,
    "not_responsible": 2,
    "unconfirmed": 4,
    "spam": 3,
}


def fresh_database(database_url: str) -> None:
    """Drop and create the benchmark database; only one whose name says it is one."""
    url = urlparse(database_url)
    name = url.path.lstrip("/")
    if "bench" not in Path(name).name:
        sys.exit(f"Refusing to drop {name!r}: the benchmark database's name must contain 'bench'.")
    if url.scheme == "sqlite":
        Path(url.path).unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql

    admin = url._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


RowMaker = Callable[[int, int, Any, list[Any], list[tuple[int, bool]]], Iterator[tuple[Any, ...]]]


def seed_demo_city(
    n: int,
    columns: Sequence[str],
    rows: RowMaker,
    *,
    after: Callable[[int], None] | None = None,
    tables: Sequence[str] = (),
) -> str:
    """Migrate, load the demo's Barcelona (authorities, neighbourhoods, categories) and top the
    reports up to n: rows(count, first index, city, districts, categories) makes them,
    after(first index) adds related rows. Returns a line saying what it did."""
    migrate()
    existing = report_count()
    if existing >= n:
        return "database reused"
    from reports.demo import _load_authorities, _load_neighbourhoods

    city, districts = _load_authorities(lambda _: None)
    _load_neighbourhoods(city)  # filing finds a report's neighbourhood, as in production
    categories = demo_categories(city, districts)
    started = time.perf_counter()
    from django.db import transaction

    # A load at least as big as the table: its indexes are built once afterwards, not row by
    # row (about twice as fast at millions of rows).
    bulk = tables if n - existing >= existing else ()
    with transaction.atomic(), indexes_built_after(*bulk):
        write_reports(columns, rows(n - existing, existing, city, districts, categories))
        if after is not None:
            after(existing)
    analyze(*tables)
    return f"{n - existing:,} reports seeded in {time.perf_counter() - started:.0f} s"


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def report_count() -> int:
    from reports.models import Report

    return Report.objects.count()


def seeded_count() -> int:
    """The reports seeded by the scripts (titled "Bench report ..."), not those a run filed."""
    from reports.models import Report

    return Report.objects.filter(title__startswith="Bench report").count()


def write_reports(columns: Sequence[str], rows: Iterator[tuple[Any, ...]]) -> None:
    """Write the rows in one transaction. Rows must be computed without queries: on PostgreSQL
    they are made while COPY holds the connection."""
    from django.db import connection, transaction

    defaults = _defaults(columns)
    names = ", ".join([*columns, *defaults])
    extra = tuple(defaults.values())
    if connection.vendor == "postgresql":
        _copy(names, extra, rows)
        rebuild_stats_rollup()
        rebuild_map_rollup()
        return
    with transaction.atomic(), connection.cursor() as cursor:
        marks = ", ".join(["%s"] * (len(columns) + len(extra)))
        insert = f"INSERT INTO reports_report ({names}) VALUES ({marks})"  # noqa: S608
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append((*row, *extra))
            if len(batch) == 10_000:
                cursor.executemany(insert, batch)
                batch.clear()
        cursor.executemany(insert, batch)


def _copy(names: str, extra: tuple[Any, ...], rows: Iterator[tuple[Any, ...]]) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        # Triggers (the statistics rollup, migration 0009; the map's, 0027) would cost minutes
        # here: they are off for this transaction, and the rollups are rebuilt once afterwards.
        cursor.execute("SET LOCAL session_replication_role = replica")
        with cursor.cursor.copy(f"COPY reports_report ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, *extra))


@contextmanager
def indexes_built_after(*tables: str) -> Iterator[None]:
    """Drop the tables' indexes that back no constraint, and create them again after the block
    (in the caller's transaction, on PostgreSQL)."""
    from django.db import connection

    if connection.vendor != "postgresql" or not tables:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public'"
            " AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conname = i.indexname)",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')  # names from the catalogue
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)


def rebuild_stats_rollup() -> None:
    """Count the statistics rollup again after rows were written with triggers off."""
    from reports.staff.stats import stats_rollup_rebuild

    stats_rollup_rebuild()


def rebuild_map_rollup() -> None:
    """Count the map's cells again after rows were written with triggers off."""
    from reports.map.rollup import map_rollup_rebuild

    map_rollup_rebuild()


# Rebuilt after every COPY (write_reports): new rows, so new statistics and visibility map too.
ROLLUP_TABLES = ("reports_mapcell",)


def analyze(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("ANALYZE")
            return
        for table in (*(tables or ("reports_report",)), *ROLLUP_TABLES):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _defaults(columns: Sequence[str]) -> dict[str, Any]:
    """Required columns the rows do not fill (added to Report since), with the model's default."""
    from django.db import connection

    from reports.models import Report

    found: dict[str, Any] = {}
    for field in Report._meta.concrete_fields:
        if field.primary_key or field.null or field.column in columns:
            continue
        # A blank text field without a default (e.g. the nearest address) is stored as "".
        if not field.has_default() and not (field.blank and field.empty_strings_allowed):
            raise SystemExit(f"bench: give reports_report.{field.column} a value in the rows.")
        found[str(field.column)] = field.get_db_prep_save(field.get_default(), connection)
    return found


def points_in_parts(
    n: int, seed: int, boundary: dict[str, Any], parts: Sequence[dict[str, Any]] = ()
) -> Iterator[tuple[float, float, int]]:
    """(lat, lon, index of the part covering it or -1) uniformly inside the boundary, for scripts
    that route reports to districts."""
    import numpy as np
    import shapely
    from shapely.geometry import shape

    polygon = shape(boundary)
    shapely.prepare(polygon)
    tree = shapely.STRtree([shape(part) for part in parts])
    rng = np.random.default_rng(seed)
    west, south, east, north = polygon.bounds
    made = 0
    while made < n:
        lon = rng.uniform(west, east, 500_000)
        lat = rng.uniform(south, north, 500_000)
        inside = shapely.contains_xy(polygon, lon, lat)
        take = min(int(inside.sum()), n - made)
        lon, lat = lon[inside][:take], lat[inside][:take]
        part = np.full(take, -1)
        points, polygons = tree.query(shapely.points(lon, lat), predicate="within")
        part[points] = polygons
        yield from zip(lat.tolist(), lon.tolist(), part.tolist(), strict=True)
        made += take


def routed_reports(
    n: int,
    seed: int,
    city: Any,
    districts: list[Any],
    categories: list[tuple[int, bool]],
    *,
    rng: random.Random | None = None,
) -> Iterator[tuple[float, float, str, int, int]]:
    """(lat, lon, state, authority id, category id) of n reports inside the city, routed as
    report_create routes them: a district's category to the district covering the point, a
    city-wide one to the city (whose boundary is the largest). States follow STATES and are
    drawn by this call; the rest as the rows are read. ``rng`` (default: seeded with ``seed``)
    may be the caller's, which then draws its own values in between. No query runs while the
    rows are read: they are made while COPY holds the connection."""
    rng = rng or random.Random(seed)
    states = rng.choices(list(STATES), weights=list(STATES.values()), k=n)
    return _routed(rng, states, seed, city, districts, categories)


def _routed(
    rng: random.Random,
    states: list[str],
    seed: int,
    city: Any,
    districts: list[Any],
    categories: list[tuple[int, bool]],
) -> Iterator[tuple[float, float, str, int, int]]:
    city_wide = [pk for pk, by_district in categories if not by_district]
    boundaries = [d.boundary for d in districts]
    points = points_in_parts(len(states), seed, city.boundary, boundaries)
    for i, (lat, lon, part) in enumerate(points):
        category, by_district = rng.choice(categories)
        authority = city.pk
        if by_district and part >= 0:
            authority = districts[part].pk
        elif by_district:  # between district polygons: a city-wide problem
            category = rng.choice(city_wide)
        yield lat, lon, states[i], authority, category


THREE_YEARS = 3 * 365 * 86_400  # seconds: the seeded reports were filed over this long
Milestones = Callable[[random.Random, str, Any, Any], tuple[Any, ...]]


def report_columns(*milestones: str) -> tuple[str, ...]:
    """The columns of reports_report a script's rows fill, in their order: what every report
    has, then ``milestones`` (e.g. "confirmed_at"), then its authority and category."""
    return (
        "ref", "title", "description", "latitude", "longitude", "extra", "reporter_name",
        "reporter_email", "show_name", "state", "created_at", "updated_at", *milestones,
        "authority_id", "category_id",
    )  # fmt: skip


def routed_rows(
    n: int,
    start: int,
    city: Any,
    districts: list[Any],
    categories: list[tuple[int, bool]],
    *,
    seed: int,
    prefix: str,
    milestones: Milestones,
    oldest_first: bool = False,
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``report_columns`` for reports routed as report_create would (routed_reports),
    filed over three years: ``milestones(rng, state, created, now)`` gives the milestone columns.
    ``oldest_first``: filed in the order they are written, as a real table fills, so rows read in
    creation order are read in the table's physical order. No query may run in here: the rows
    are made while COPY holds the connection."""
    from django.utils import timezone

    rng = random.Random(seed)  # shared with routed_reports: the same draws as before it existed
    now = timezone.now()
    routed = routed_reports(n, seed, city, districts, categories, rng=rng)
    ages = (
        sorted((rng.randrange(THREE_YEARS) for _ in range(n)), reverse=True) if oldest_first else []
    )
    for i, (lat, lon, state, authority, category) in enumerate(routed):
        created = now - timedelta(seconds=ages[i] if ages else rng.randrange(THREE_YEARS))
        yield (f"{prefix}{start + i:09d}", f"Bench report {start + i}", "Something is broken here.",
               lat, lon, "{}", "", "", False, state, created, created,
               *milestones(rng, state, created, now), authority, category)  # fmt: skip


def demo_categories(city: Any, districts: list[Any]) -> list[tuple[int, bool]]:
    """The demo's categories, loaded, as (id, handled by the districts)."""
    from reports.demo import CATEGORIES, _load_categories

    tier = {slug: kind for slug, _, _, _, kind, _ in CATEGORIES}
    return [(c.pk, tier[c.slug] == "district") for c in _load_categories(city, districts)]
