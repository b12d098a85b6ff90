"""The map's viewport endpoint (/map/reports.json) against a bare Django JSON view.

    python bench/map.py [--reports 1000000] [--database-url URL] [--cache-url URL]
                        [--reuse] [--requests 1000] [--cold 30] [--compare-indexes]

It seeds a dedicated database (PostgreSQL `fixpoint_bench` by default, dropped and created again
unless --reuse; its name must contain "bench") with the Barcelona demo's boundaries and categories
and N reports spread over the city, a third of them in hot spots. PostgreSQL gets them by COPY,
SQLite (`--database-url sqlite:////tmp/fixpoint-bench.sqlite3`) by executemany. Use
`--reports 10000000` for FixMyStreet's UK scale.

Then it requests random viewports of a 1280x800 map at city (zoom 12), district (14) and street
(17) level through Django's whole WSGI stack (django.test.Client: middleware, URL resolver, view,
JSON), one request at a time, and the same way a bare view returning JsonResponse({"ok": True}).
Cold: the map cache is emptied (mapdata.invalidate_all) before every request. Warm: the same
viewports again after one unmeasured pass. It prints requests/second, p50/p95 latency and
response sizes. --compare-indexes also times cold viewports with the GiST index dropped (inside
a transaction that is rolled back), so the B-tree on (latitude, longitude) serves alone.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import seeding  # bench/seeding.py: this script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LEVELS = (("city", 12), ("district", 14), ("street", 17))
SCREEN = (1280, 800)  # CSS pixels of the map
COLUMNS = (
    "ref",
    "title",
    "description",
    "latitude",
    "longitude",
    "extra",
    "reporter_name",
    "reporter_email",
    "show_name",
    "state",
    "created_at",
    "updated_at",
    "authority_id",
    "category_id",
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=None, help="default 1M (200k on SQLite)")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/fixpoint_bench"
    )
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--requests", type=int, default=1000, help="warm and bare, per level")
    parser.add_argument("--cold", type=int, default=30, help="cold requests per level")
    parser.add_argument("--viewports", type=int, default=200, help="distinct viewports per level")
    parser.add_argument("--compare-indexes", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    url = urlparse(args.database_url)
    postgres = url.scheme.startswith("postgres")
    n = args.reports or (1_000_000 if postgres else 200_000)
    if not args.reuse:
        seeding.fresh_database(args.database_url)
    _configure(args.database_url, args.cache_url)
    seeded = _seed(n, args.seed)
    print(f"{seeding.report_count():,} reports in the database ({seeded})")
    _run(args)
    if args.compare_indexes and postgres:
        _compare_indexes(args.seed, args.cold)


# --- the database ------------------------------------------------------------------------------


def _configure(database_url: str, cache_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["CACHE_URL"] = cache_url
    os.environ["DEBUG"] = "false"  # no query logging, production code paths
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ["SECURE_HTTPS"] = "false"  # the test client speaks plain HTTP
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from reports import mapdata

    mapdata.connect_signals()  # idempotent: harmless if reports.apps already did


def _seed(n: int, seed: int) -> str:
    return seeding.seed_demo_city(n, COLUMNS, partial(_rows, seed=seed))


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
class Stats:
    label: str
    latencies: list[float]
    sizes: list[int]
    features: list[int] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return len(self.latencies) / sum(self.latencies)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]

    def line(self) -> str:
        p50, p95 = self.percentile(50) * 1e3, self.percentile(95) * 1e3
        return (
            f"  {self.label:<28} {self.rps:9,.0f} req/s   p50 {p50:8.2f} ms   p95 {p95:8.2f} ms"
            f"   size mean {statistics.mean(self.sizes):7,.0f} B, max {max(self.sizes):7,} B"
            f"   features mean {statistics.mean(self.features):5,.0f}, max {max(self.features):5,}"
            f"   ({len(self.latencies)} requests)"
        )


def bare(request: Any) -> Any:
    from django.http import JsonResponse

    return JsonResponse({"ok": True})


def _urlconf() -> Any:
    from django.urls import path

    import config.urls

    class Urls:
        # The bare view first: it is resolved fastest, which favours the baseline.
        urlpatterns = [path("bench/bare.json", bare), *config.urls.urlpatterns]

    return Urls


def _measure(client: Any, label: str, urls: list[str], before: Callable[[], None] | None) -> Stats:
    stats = Stats(label, [], [])
    for url in urls:
        if before is not None:
            before()
        started = time.perf_counter()
        response = client.get(url)
        stats.latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code} {response.content[:200]!r}")
        stats.sizes.append(len(response.content))
        stats.features.append(response.content.count(b'"Feature"'))
    return stats


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


def _run(args: argparse.Namespace) -> None:
    from django.test import Client, override_settings

    from reports import mapdata

    client = Client(HTTP_HOST="127.0.0.1")
    print(f"Through the WSGI stack (django.test.Client), one request at a time; cache "
          f"{args.cache_url}. Warm and bare requests alternate in chunks of {CHUNK}, so both "
          "see the same machine load.")  # fmt: skip
    with override_settings(ROOT_URLCONF=_urlconf()):
        for name, zoom in LEVELS:
            urls = [_url(box, zoom) for box in viewports(zoom, args.viewports, args.seed)]
            cold = _measure(
                client, f"{name} z{zoom} cold", urls[: args.cold], mapdata.invalidate_all
            )
            _measure(client, "prime", urls, None)
            warm_urls = (urls * math.ceil(args.requests / len(urls)))[: args.requests]
            warm, bare = _interleaved(client, f"{name} z{zoom}", warm_urls)
            print(cold.line())
            print(warm.line())
            print(bare.line())
            print(f"  {'':<28} warm / bare throughput: {warm.rps / bare.rps:.0%}")


CHUNK = 50


def _interleaved(client: Any, label: str, urls: list[str]) -> tuple[Stats, Stats]:
    warm, bare = Stats(f"{label} warm", [], []), Stats("bare JsonResponse", [], [])
    for start in range(0, len(urls), CHUNK):
        chunk = urls[start : start + CHUNK]
        for into, batch in ((warm, chunk), (bare, ["/bench/bare.json"] * len(chunk))):
            measured = _measure(client, into.label, batch, None)
            into.latencies += measured.latencies
            into.sizes += measured.sizes
            into.features += measured.features
    return warm, bare


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
    from reports import mapdata

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

    from reports import mapdata

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
