"""The staff statistics page and the CSV export at scale.

    python bench/stats.py [--reports 1000000] [--database-url URL] [--reuse] [--renders 20]
                          [--export-rows 200000] [--seed-only]

It seeds a dedicated database (PostgreSQL `fixpoint_bench_stats` by default, dropped and created
again unless --reuse; its name must contain "bench") with the Barcelona demo's boundaries and
categories and N reports over three years, routed like report_create routes them (a district's
category to the district covering the point, a city-wide one to the city), each with the milestone
times its state implies (confirmed, verified, fixed, closed), and a "me too" on about a quarter of
them. PostgreSQL gets them by COPY, SQLite (`--database-url sqlite:////tmp/fixpoint-bench.sqlite3`)
by executemany.

Then it renders /staff/stats/ through Django's whole stack (django.test.Client, a logged-in user,
the template included) --renders times per scope and period, one at a time, and prints p50/p90:
one district's inspector, and a superuser seeing every authority (the whole city), for the last
30 days and the last 12 months. Last, it streams /staff/export.csv for the superuser with no
filter (every report, or --export-rows) and prints rows/second and the process's peak memory
before and after streaming.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import sys
import time
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import seeding  # bench/seeding.py: this script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLUMNS = seeding.report_columns("confirmed_at", "verified_at", "fixed_at", "closed_at")
DAY = 86_400.0
PERIODS = (("last 30 days", "30d"), ("last 12 months", "12m"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=None, help="default 1M (200k on SQLite)")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/fixpoint_bench_stats"
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--renders", type=int, default=20, help="renders per scope and period")
    parser.add_argument("--export-rows", type=int, default=0, help="stop the export after N rows")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    postgres = urlparse(args.database_url).scheme.startswith("postgres")
    n = args.reports or (1_000_000 if postgres else 200_000)
    if not args.reuse:
        seeding.fresh_database(args.database_url)
    _configure(args.database_url)
    print(f"{_seed(n, args.seed)}; {seeding.report_count():,} reports in the database")
    if args.seed_only:
        return
    _run(args)


def _configure(database_url: str) -> None:
    seeding.configure_in_process(database_url)


# --- seeding -------------------------------------------------------------------------------------


def _seed(n: int, seed: int) -> str:
    return seeding.seed_demo_city(
        n,
        COLUMNS,
        partial(
            seeding.routed_rows, seed=seed, prefix="S", milestones=_milestones, oldest_first=True
        ),
        after=_supports,
        tables=("reports_report", "reports_support"),
    )


def _milestones(
    rng: random.Random, state: str, created: datetime, now: datetime
) -> tuple[datetime | None, ...]:
    """(confirmed, verified, fixed, closed) as the state implies, never later than now."""

    def after(moment: datetime, mean_days: float) -> datetime:
        return min(now, moment + timedelta(seconds=rng.expovariate(1 / (mean_days * DAY))))

    if state in ("unconfirmed", "spam"):
        return None, None, None, None
    confirmed = after(created, 0.05)
    verified = fixed = closed = None
    if state in ("verified", "in_progress") or (
        state in ("fixed", "closed") and rng.random() < 0.7
    ):
        verified = after(confirmed, 2)
    if state == "fixed" or (state == "closed" and rng.random() < 0.6):
        fixed = after(verified or confirmed, 10)
    if state in ("closed", "duplicate", "not_responsible"):
        closed = after(fixed or confirmed, 4)
    return confirmed, verified, fixed, closed


def _supports(after: int) -> None:
    """A "me too" on about a quarter of the public reports, a few days after they came."""
    from django.db import connection, transaction

    postgres = connection.vendor == "postgresql"
    when = "confirmed_at + random() * interval '5 days'" if postgres else "confirmed_at"
    sample = "random() < 0.25" if postgres else "abs(random()) % 4 = 0"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:  # the rollup's triggers are off here, and it is rebuilt once after
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "INSERT INTO reports_support (report_id, user_id, email, created_at)"  # noqa: S608
            f" SELECT id, NULL, 'metoo' || id || '@bench.example.org', {when}"
            f" FROM reports_report WHERE id > %s AND confirmed_at IS NOT NULL AND {sample}",
            [after],
        )
    if postgres:
        seeding.rebuild_stats_rollup()


# --- measuring -----------------------------------------------------------------------------------


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def _users() -> dict[str, Any]:
    from accounts.models import User
    from authorities import services as authority_services
    from authorities.models import Authority, StaffRole

    district = Authority.objects.get(slug="eixample")
    inspector, _ = User.objects.get_or_create(email="inspector@bench.example.org")
    authority_services.staff_membership_set(
        user=inspector, authority=district, role=StaffRole.INSPECTOR
    )
    admin, _ = User.objects.get_or_create(
        email="admin@bench.example.org", defaults={"is_superuser": True, "is_staff": True}
    )
    return {f"district ({district.name})": inspector, "whole city (superuser)": admin}


def _client(user: Any) -> Any:
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def _run(args: argparse.Namespace) -> None:
    from django.urls import reverse

    users = _users()
    url = reverse("staff:stats")
    print(f"GET {url} through django.test.Client, {args.renders} renders each (after one warm-up);"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    for scope, user in users.items():
        client = _client(user)
        for label, preset in PERIODS:
            times = _renders(client, f"{url}?preset={preset}", args.renders)
            print(f"  {scope:<34} {label:<15} p50 {_percentile(times, 50) * 1e3:7.0f} ms"
                  f"   p90 {_percentile(times, 90) * 1e3:7.0f} ms")  # fmt: skip
    _export(_client(users["whole city (superuser)"]), args.export_rows)


def _renders(client: Any, url: str, count: int) -> list[float]:
    times = []
    for attempt in range(count + 1):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        if attempt:  # the first one warms the connection, templates and caches of Python
            times.append(elapsed)
    return times


def _export(client: Any, limit: int) -> None:
    """Rows per second, and the process's peak resident memory before and after: streaming
    must leave it where it was. (tracemalloc would see Python's allocations more precisely but
    slows them several times over, which would hide the throughput.)"""
    from django.urls import reverse

    url = reverse("staff:export")
    peak_before = _peak_rss_mb()
    started = time.perf_counter()
    response = client.get(url)
    rows = size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
        if limit and rows >= limit:
            break
    response.close()  # ends the export's read-only transaction, as the WSGI server would
    elapsed = time.perf_counter() - started
    print(f"GET {url} (superuser, no filter): {rows - 1:,} rows, {size / 1e6:,.0f} MB in "
          f"{elapsed:.1f} s = {(rows - 1) / elapsed:,.0f} rows/s; peak memory of the process "
          f"{peak_before:.0f} MB before, {_peak_rss_mb():.0f} MB after; load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


if __name__ == "__main__":
    main()
