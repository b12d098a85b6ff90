"""Routing speed: Fixpoint's index against a bare shapely STRtree on the same polygons.

    python bench/routing.py [--points 20000] [--neighbourhoods] [--use-database]

By default it builds a throw-away SQLite database with the demo's boundaries (Barcelona City
Council and its 10 districts; --neighbourhoods adds its 73 neighbourhoods as agencies), so it
never touches your data. --use-database measures whatever DATABASE_URL already holds.
Prints single-lookup microseconds and bulk points/second, side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--neighbourhoods", action="store_true")
    parser.add_argument("--use-database", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.use_database:
        tmp = tempfile.mkdtemp(prefix="fixpoint-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if not args.use_database:
        _load_boundaries(args.neighbourhoods)
    _run(args.points, args.seed)


def _load_boundaries(neighbourhoods: bool) -> None:
    from django.core.management import call_command

    from reports.demo import DATA_DIR, _load_authorities, _load_categories

    call_command("migrate", verbosity=0)
    city, districts = _load_authorities(lambda _: None)
    _load_categories(city, districts)
    if neighbourhoods:
        with open(os.devnull, "w") as quiet:
            call_command(
                "import_boundaries",
                str(DATA_DIR / "barris.geojson"),
                "--name-field",
                "NOM",
                "--code-field",
                "CODI_UA",
                "--parent",
                "barcelona",
                "--kind",
                "agency",
                verbosity=0,
                stdout=quiet,
                stderr=quiet,
            )


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _run(n: int, seed: int) -> None:
    import numpy as np
    import shapely
    from shapely import STRtree
    from shapely.geometry import shape

    from authorities import routing
    from authorities.models import Authority

    index = routing.get_index()
    rng = random.Random(seed)
    min_x, min_y, max_x, max_y = index.geometries.total_bounds()
    points = [(rng.uniform(min_y, max_y), rng.uniform(min_x, max_x)) for _ in range(n)]

    # The bare baseline: the same polygons in a plain STRtree, queried point by point.
    polygons = [
        shape(b)
        for b in Authority.objects.filter(is_active=True, boundary__isnull=False).values_list(
            "boundary", flat=True
        )
    ]
    bare_tree = STRtree(polygons)

    def bare_single() -> None:
        for lat, lon in points:
            bare_tree.query(shapely.Point(lon, lat), predicate="covered_by")

    prepared = np.array(polygons, dtype=object)
    shapely.prepare(prepared)
    prepared_tree = STRtree(prepared)

    def bare_prepared_single() -> None:
        # The fastest hand-written equivalent: what Fixpoint's index does minus its bookkeeping.
        for lat, lon in points:
            point = shapely.Point(lon, lat)
            hits = prepared_tree.query(point)
            shapely.covers(prepared[hits], point)

    def ours_single() -> None:
        for lat, lon in points:
            index.covering(lat, lon)

    def ours_locate() -> None:
        for lat, lon in points:
            with contextlib.suppress(routing.NoAuthorityHere):
                index.locate(lat, lon)

    coords = np.asarray(points)

    def bare_bulk() -> None:
        bare_tree.query(shapely.points(coords[:, 1], coords[:, 0]), predicate="covered_by")

    def ours_bulk() -> None:
        index.covering_many(points)

    covered = sum(1 for lat, lon in points if index.covering(lat, lon))
    print(
        f"{len(index.authorities)} authorities, {sum(len(shapely.get_coordinates(g)) for g in index.geometries):,} vertices; "  # noqa: E501
        f"{n:,} random points in their bounding box, {covered:,} covered"
    )
    rows = [
        ("bare STRtree query (covered_by), per point", bare_single),
        ("bare STRtree + prepared polygons, per point", bare_prepared_single),
        ("Fixpoint index.covering, per point", ours_single),
        ("Fixpoint index.locate (+ category offers), per point", ours_locate),
    ]
    results = {}
    for label, fn in rows:
        seconds = _best(fn)
        results[label] = seconds
        print(f"  {label:<56} {seconds / n * 1e6:8.2f} µs/lookup")
    bare, prepared_bare, ours = (results[label] for label, _ in rows[:3])
    print(
        f"  single lookup: Fixpoint / bare = {ours / bare:.2f}x (target <= 1.5x); "
        f"Fixpoint / bare prepared = {ours / prepared_bare:.2f}x"
    )
    bare_b, ours_b = _best(bare_bulk), _best(ours_bulk)
    print(
        f"  bare STRtree bulk query                                  {n / bare_b:12,.0f} points/s"
    )
    print(
        f"  Fixpoint covering_many (bulk, as locate --csv)           {n / ours_b:12,.0f} points/s"
    )
    print(f"  bulk: Fixpoint / bare time = {ours_b / bare_b:.2f}x")


if __name__ == "__main__":
    main()
