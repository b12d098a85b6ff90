"""The map's viewport endpoint (/map/reports.json) against a bare Django JSON view, on gunicorn,
warm viewports loaded by wrk.

    python bench/map.py [--reports 1000000[,10000000]] [--database-url URL] [--cache-url URL]
                        [--reuse] [--seconds 10] [--rounds 2] [--cold 30] [--compare-indexes]

Needs Debian's `wrk` (apt-get install wrk) and Redis (the cache is shared by gunicorn's workers
and this process, which empties it for the cold requests).

It seeds a dedicated database (PostgreSQL `fixpoint_bench` by default, dropped and created again
unless --reuse; its name must contain "bench") with the Barcelona demo's boundaries and categories
and N reports spread over the city, a third of them in hot spots (bench/seeding.py). PostgreSQL
gets them by COPY, SQLite (`--database-url sqlite:////tmp/fixpoint-bench.sqlite3`) by
executemany. With several sizes (--reports 1000000,10000000, FixMyStreet's UK scale) it measures
at each, topping the reports up in between, and prints how each figure grows.

Then gunicorn (2 sync workers, bench/serving.py) serves random viewports of a 1280x800 map at
city (zoom 12), district (14), street (17, the finest the rollup of counts per cell serves) and
building (18, Leaflet's last, from the reports themselves) level:

- cold: the map cache is emptied (mapdata.invalidate_all) before every request, which is what
  the first visitor after a change to a tile pays; one request at a time, p50/p95 against the
  issue's target (p95 under 100 ms at 10M reports);
- warm: the same viewports after one pass that caches them, loaded by `wrk -t2 -c32` in turns
  with the bare view (JsonResponse({"ok": True}) through the same middleware); requests/second,
  latency percentiles and the share of the bare view against the target (at least 30%).

Then (PostgreSQL) the write cost of the map's rollup: --writes filings, state changes, updates the
map ignores and deletions, each one statement in its own transaction (not waiting for the WAL
flush, which costs the same either way), timed in this process with the rollup's triggers and
with them disabled, in turns (a turn's reports leave the way they came, so the rollup stays
exact); and the triggers' own time, from PostgreSQL's track_functions.

--compare-indexes also times cold viewports in this process with the GiST index dropped (inside
a transaction that is rolled back), so the B-tree on (latitude, longitude) serves alone.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import seeding  # bench/seeding.py: this script's folder is on sys.path
import serving
from serving import Load, Row

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LEVELS = (("city", 12), ("district", 14), ("street", 17), ("building", 18))
SCREEN = (1280, 800)  # CSS pixels of the map
COLD_P95_TARGET = 0.100  # seconds, at 10M reports
WARM_TARGET = 0.30  # share of the bare view
COLUMNS = seeding.report_columns()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reports", default="", help="sizes, e.g. 1000000,10000000 (default 1M,"
                        " 200k on SQLite)")  # fmt: skip
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/fixpoint_bench"
    )
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--seconds", type=float, default=10, help="warm (and bare), per level")
    parser.add_argument("--rounds", type=int, default=2, help="alternations with the bare view")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--cold", type=int, default=30, help="cold requests per level")
    parser.add_argument("--viewports", type=int, default=200, help="distinct viewports per level")
    parser.add_argument("--compare-indexes", action="store_true")
    parser.add_argument("--writes", type=int, default=300,
                        help="timed writes of each kind, with and without the map's triggers"
                             " (0: none)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress, also to a file
    serving.require_wrk()
    serving.local_only(args.database_url, args.cache_url)
    if not args.cache_url.startswith("redis"):
        sys.exit("The map benchmark needs a shared cache: --cache-url redis://127.0.0.1:6379/N")
    postgres = urlparse(args.database_url).scheme.startswith("postgres")
    sizes = sorted(
        int(n) for n in (args.reports or ("1000000" if postgres else "200000")).split(",")
    )
    if not args.reuse:
        seeding.fresh_database(args.database_url)
    env = _configure(args.database_url, args.cache_url)
    seeding.migrate()
    measured: dict[int, list[Level]] = {}
    for size in sizes:
        if seeding.seeded_count() > size:
            print(f"Skipping {size:,} reports: the database holds more (drop --reuse).")
            continue
        print(f"{_seed(size, args.seed)}; {seeding.report_count():,} reports in the database")
        measured[size] = _measure(args, env, size)
        if args.writes and postgres:
            print(_write_cost(args.writes, args.seed))
        if args.compare_indexes and postgres:
            _compare_indexes(args.seed, args.cold)
    if len(measured) > 1:
        print(_growth(measured))


# --- the database ------------------------------------------------------------------------------


def _configure(database_url: str, cache_url: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "3600",
        "CACHE_URL": cache_url,
        **serving.server_env(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    os.environ.update(env)
    import django

    django.setup()
    from reports import map as mapdata

    mapdata.connect_signals()  # idempotent: harmless if reports.apps already did
    return env


def _seed(n: int, seed: int) -> str:
    return seeding.seed_demo_city(n, COLUMNS, partial(_rows, seed=seed), tables=("reports_report",))


def _points(n: int, seed: int, boundary: dict[str, Any]) -> Iterator[tuple[float, float]]:
    """(lat, lon) inside the city: two thirds uniform, a third around 300 hot spots."""
    import numpy as np
    import shapely
    from shapely.geometry import shape

    polygon = shape(boundary)
    shapely.prepare(polygon)
    rng = np.random.default_rng(seed)
    west, south, east, north = polygon.bounds
    spots = None
    made = 0
    while made < n:
        lon = rng.uniform(west, east, 200_000)
        lat = rng.uniform(south, north, 200_000)
        inside = shapely.contains_xy(polygon, lon, lat)
        lon, lat = lon[inside], lat[inside]
        if spots is None:
            spots = np.column_stack([lon[:300], lat[:300]])
        hot = rng.random(len(lon)) < 1 / 3
        pick = spots[rng.integers(0, len(spots), int(hot.sum()))]
        lon[hot] = pick[:, 0] + rng.normal(0, 0.0015, len(pick))
        lat[hot] = pick[:, 1] + rng.normal(0, 0.0012, len(pick))
        keep = shapely.contains_xy(polygon, lon, lat)
        for x, y in zip(lon[keep][: n - made], lat[keep][: n - made], strict=True):
            yield float(y), float(x)
        made += min(int(keep.sum()), n - made)


def _rows(
    n: int,
    start: int,
    city: Any,
    districts: list[Any],
    categories: list[tuple[int, bool]],
    *,
    seed: int,
) -> Iterator[tuple[Any, ...]]:
    """Rows for COPY / INSERT, all sent to the city (the map does not care who handles them).
    No query may run in here: the rows are made while COPY holds the connection."""
    from django.utils import timezone

    category_ids = [pk for pk, _ in categories]
    rng = random.Random(seed)
    states = rng.choices(list(seeding.STATES), weights=list(seeding.STATES.values()), k=n)
    now = timezone.now()
    for i, (lat, lon) in enumerate(_points(n, seed, city.boundary)):
        created = now - timedelta(seconds=rng.randrange(3 * 365 * 86_400))
        ref = f"Z{start + i:08d}"
        yield (ref, f"Bench report {i}", "-", lat, lon, "{}", "", "", False, states[i],
               created, created, city.pk, rng.choice(category_ids))  # fmt: skip


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Level:
    name: str
    cold: list[float]  # seconds, one request at a time
    warm: Row
    features: list[int] = field(default_factory=list)

    def cold_percentile(self, p: float) -> float:
        ordered = sorted(self.cold)
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def _measure(args: argparse.Namespace, env: dict[str, str], size: int) -> list[Level]:
    with tempfile.TemporaryDirectory(prefix="fixpoint-bench-map-") as tmp:
        server = serving.Gunicorn(Path(tmp), env, workers=2)
        server.start()
        try:
            print(f"gunicorn on port {server.port}, 2 sync workers; cache {args.cache_url}")
            plans = {
                f"{name} z{zoom}": [_url(box, zoom) for box in viewports(zoom, args.viewports,
                                                                         args.seed)]
                for name, zoom in LEVELS
            }  # fmt: skip
            for urls in plans.values():  # both workers' first requests: imports, tables
                for url in urls[:4]:
                    serving.request(server.port, "GET", url, timeout=120)
            levels = [_level(server.port, name, urls, args) for name, urls in plans.items()]
        finally:
            server.stop()
    print(f"\nAt {size:,} reports:\n{_table(levels)}")
    print(serving.load_generator_check([level.warm for level in levels]))
    return levels


def _level(port: int, name: str, urls: list[str], args: argparse.Namespace) -> Level:
    from reports import map as mapdata

    print(f"  {name}: {args.cold} cold, then warm ({serving.machine_line()})")
    cold, features = [], []
    for url in urls[: args.cold]:
        mapdata.invalidate_all()
        started = time.perf_counter()
        status, body = serving.request(port, "GET", url, timeout=120)
        cold.append(time.perf_counter() - started)
        if status != 200:
            raise SystemExit(f"{url}: HTTP {status} {body[:200]!r}")
        features.append(body.count(b'"Feature"'))
    for url in urls:  # one pass caches every tile the warm load asks for
        serving.request(port, "GET", url, timeout=120)
    load = Load(name, urls, headers={"Accept": "application/json"})
    kwargs = {"threads": args.threads, "connections": args.connections}
    ours, bare = serving.alternate(port, load, serving.bare_load(), args.seconds, args.rounds,
                                   **kwargs)  # fmt: skip
    return Level(name, cold, Row(f"{name} warm", ours, bare, WARM_TARGET), features)


def _table(levels: list[Level]) -> str:
    cold = [
        f"  {'viewport':<24} {'cold p50 ms':>11} {'cold p95 ms':>11} {'features max':>12}  target"
    ]
    for level in levels:
        p95 = level.cold_percentile(95)
        verdict = "met" if p95 < COLD_P95_TARGET else "MISSED"
        cold.append(
            f"  {level.name:<24} {level.cold_percentile(50) * 1e3:11.1f} {p95 * 1e3:11.1f}"
            f" {max(level.features):12,}  p95 < {COLD_P95_TARGET * 1e3:.0f} ms (at 10M) {verdict}"
        )
    return "\n".join(cold) + "\n" + serving.table([level.warm for level in levels])


def _growth(measured: dict[int, list[Level]]) -> str:
    sizes = sorted(measured)
    head = "".join(f" {f'{size:,} reports':>32}" for size in sizes)
    lines = [
        f"\nHow the figures grow (cold p50 / p95 ms; warm req/s, share):\n  {'viewport':<16}{head}"
    ]
    for index, (name, zoom) in enumerate(LEVELS):
        cells = []
        for size in sizes:
            level = measured[size][index]
            cells.append(
                f" {level.cold_percentile(50) * 1e3:7.1f} {level.cold_percentile(95) * 1e3:7.1f}"
                f" {level.warm.ours.rps:8,.0f} {level.warm.share:6.1%}"
            )
        lines.append(f"  {name + f' z{zoom}':<16}{''.join(cells)}")
    return "\n".join(lines)


MAP_TRIGGERS = ("fixpoint_map_insert", "fixpoint_map_update", "fixpoint_map_delete")
WRITES = {  # kind: the statement, timed for each new report (its id is the parameter)
    "state change open -> fixed": "UPDATE reports_report SET state = 'fixed' WHERE id = %s",
    "update the map ignores": "UPDATE reports_report SET updated_at = now() WHERE id = %s",
    "deletion": "DELETE FROM reports_report WHERE id = %s",
}


def _write_cost(count: int, seed: int, rounds: int = 2) -> str:
    """Milliseconds per statement (p50 and mean) of a filing (one INSERT of an open report), a
    state change, an update of a column the map does not show and a deletion, with the map's
    triggers and without, in turns so both see the same machine; and the triggers' own time
    (PostgreSQL's track_functions) per statement."""
    from django.db import connection

    rng = random.Random(seed)
    timings: dict[tuple[str, bool], list[float]] = {}
    own: dict[str, float] = {}
    with connection.cursor() as cursor:
        # The commit's WAL flush costs the same with the triggers or without, and as much as the
        # disk takes (0.5 to 4 ms a commit here, from one run to the next): it hid their cost.
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET track_functions = 'all'")
    try:
        for turn in range(2 * rounds + 1):  # turn 0 warms caches and plans up: not counted
            on = turn % 2 == 0
            with _map_triggers(on=on):
                for kind, spent, trigger_ms in _timed_writes(count, rng, turn):
                    if turn:
                        timings.setdefault((kind, on), []).extend(spent)
                        own[kind] = own.get(kind, 0.0) + trigger_ms
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
            cursor.execute("RESET track_functions")
    lines = [
        f"Write cost at {seeding.report_count():,} reports (database time per statement, one "
        f"autocommitted statement at a time without waiting for the WAL flush, {count * rounds}"
        f" of each; {serving.machine_line()}):",
        f"  {'ms per statement':<28} {'with the triggers':>19} {'without':>17}"
        f" {'p50 difference':>15} {'triggers alone':>15}",
        f"  {'':<28} {'p50 / mean':>19} {'p50 / mean':>17} {'':>15} {'mean':>15}",
    ]
    for kind in ("filing (INSERT)", *WRITES):
        on_times, off_times = timings[kind, True], timings[kind, False]
        lines.append(
            f"  {kind:<28} {_median(on_times) * 1e3:10.3f} / {_mean(on_times) * 1e3:6.3f}"
            f" {_median(off_times) * 1e3:8.3f} / {_mean(off_times) * 1e3:6.3f}"
            f" {(_median(on_times) - _median(off_times)) * 1e3:+15.3f}"
            f" {own[kind] / len(on_times):15.3f}"
        )
    return "\n".join(lines)


def _timed_writes(
    count: int, rng: random.Random, turn: int
) -> Iterator[tuple[str, list[float], float]]:
    """(kind, seconds per statement, the map triggers' own milliseconds in all) for count new
    reports filed, then each of WRITES on each of them (the last deletes them)."""
    from django.db import connection
    from django.utils import timezone

    from authorities.models import Authority, Category

    city = Authority.objects.get(slug="barcelona")
    categories = list(Category.objects.values_list("pk", flat=True))
    bounds = _city_bounds()
    defaults = seeding._defaults(COLUMNS)
    names = ", ".join([*COLUMNS, *defaults])
    marks = ", ".join(["%s"] * (len(COLUMNS) + len(defaults)))
    insert = f"INSERT INTO reports_report ({names}) VALUES ({marks}) RETURNING id"  # noqa: S608
    ids, spent = [], []
    now = timezone.now()
    before = _trigger_ms()
    with connection.cursor() as cursor:
        for i in range(count):
            lat, lon = rng.uniform(bounds[1], bounds[3]), rng.uniform(bounds[0], bounds[2])
            row = (f"W{turn}{i:07d}", "Bench write", "-", lat, lon, "{}", "", "", False, "open",
                   now, now, city.pk, rng.choice(categories), *defaults.values())  # fmt: skip
            started = time.perf_counter()
            cursor.execute(insert, row)
            spent.append(time.perf_counter() - started)
            ids.append(cursor.fetchone()[0])
    yield "filing (INSERT)", spent, _trigger_ms() - before
    for kind, statement in WRITES.items():
        spent, before = [], _trigger_ms()
        with connection.cursor() as cursor:
            for report in ids:
                started = time.perf_counter()
                cursor.execute(statement, [report])
                spent.append(time.perf_counter() - started)
        yield kind, spent, _trigger_ms() - before


def _trigger_ms() -> float:
    """The map triggers' own time so far (track_functions), this session's included."""
    from django.db import connection

    with connection.cursor() as cursor:
        # Sent when this backend next waits for a query, so before the next one.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT coalesce(sum(total_time), 0) FROM pg_stat_user_functions"
            " WHERE funcname LIKE 'fixpoint_map_%'"
        )
        return float(cursor.fetchone()[0])


@contextmanager
def _map_triggers(*, on: bool) -> Iterator[None]:
    """Leaves the map's triggers as they are (on), or disables them for the block."""
    from django.db import connection

    def set_all(verb: str) -> None:
        with connection.cursor() as cursor:
            for name in MAP_TRIGGERS:
                cursor.execute(f"ALTER TABLE reports_report {verb} TRIGGER {name}")

    if on:
        yield
        return
    set_all("DISABLE")
    try:
        yield
    finally:
        set_all("ENABLE")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _city_bounds() -> tuple[float, float, float, float]:
    from shapely.geometry import shape

    from authorities.models import Authority

    bounds: tuple[float, float, float, float] = shape(
        Authority.objects.get(slug="barcelona").boundary
    ).bounds
    return bounds


@dataclass
class Stats:
    """In-process timings of --compare-indexes."""

    label: str
    latencies: list[float]
    sizes: list[int]
    features: list[int] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def viewports(zoom: int, count: int, seed: int) -> list[tuple[float, float, float, float]]:
    """Random 1280x800 Web-Mercator viewports centred in Barcelona."""
    from shapely.geometry import shape

    from authorities.models import Authority

    west, south, east, north = shape(Authority.objects.get(slug="barcelona").boundary).bounds
    rng = random.Random(seed * 100 + zoom)
    width = SCREEN[0] / 256 * 360 / 2**zoom
    found = []
    for _ in range(count):
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        height = SCREEN[1] / 256 * 360 / 2**zoom * math.cos(math.radians(lat))
        found.append((lon - width / 2, lat - height / 2, lon + width / 2, lat + height / 2))
    return found


def _url(box: tuple[float, float, float, float], zoom: int) -> str:
    return "/map/reports.json?" + urlencode(
        {"bbox": ",".join(f"{v:.6f}" for v in box), "zoom": zoom}
    )


def _compare_indexes(seed: int, count: int) -> None:
    """Cold viewport() latency with the GiST index, then with only the B-tree (rolled back)."""
    from django.db import connection, transaction

    print("Cold viewport() (the database's part plus assembly), GiST vs the B-tree alone:")
    timings: dict[str, dict[int, Stats]] = {"gist": {}, "btree": {}}
    timings["gist"] = _cold_viewports(seed, count)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX report_point_gist")
            timings["btree"] = _cold_viewports(seed, count)
            raise _Rollback
    except _Rollback:
        pass
    for name, zoom in LEVELS:
        for index in ("gist", "btree"):
            stats = timings[index][zoom]
            print(f"  {name} z{zoom} {index:<6} p50 {stats.percentile(50) * 1e3:8.1f} ms   "
                  f"p95 {stats.percentile(95) * 1e3:8.1f} ms   plan: {stats.label}")  # fmt: skip


class _Rollback(Exception):
    pass


def _cold_viewports(seed: int, count: int) -> dict[int, Stats]:
    from reports import map as mapdata

    found = {}
    for _, zoom in LEVELS:
        latencies, features = [], []
        for box in viewports(zoom, count, seed):
            mapdata.invalidate_all()
            started = time.perf_counter()
            data = mapdata.viewport(
                west=box[0], south=box[1], east=box[2], north=box[3], zoom=zoom,
                filters=mapdata.MapFilters(),
            )  # fmt: skip
            latencies.append(time.perf_counter() - started)
            features.append(len(data["features"]))
        found[zoom] = Stats(_plan(viewports(zoom, 1, seed)[0], zoom), latencies, [], features)
    return found


def _plan(box: tuple[float, float, float, float], zoom: int) -> str:
    """The scan nodes PostgreSQL chooses for the grouped query of this viewport."""
    import json

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports import map as mapdata

    mapdata.invalidate_all()
    with CaptureQueriesContext(connection) as queries:
        mapdata.viewport(west=box[0], south=box[1], east=box[2], north=box[3], zoom=zoom,
                         filters=mapdata.MapFilters())  # fmt: skip
    grouped = next(q["sql"] for q in queries if "GROUP BY" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + grouped)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Scan" in node["Node Type"]:
            nodes.append(
                f"{node['Node Type']}{' on ' + node['Index Name'] if 'Index Name' in node else ''}"
            )
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return ", ".join(nodes)


if __name__ == "__main__":
    main()
