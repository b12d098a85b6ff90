"""Memory: a web worker after 10,000 mixed requests, and the routing index for a national map.

    python bench/memory.py [--reports 1000000] [--database-url URL] [--redis-url URL] [--reuse]
                           [--requests 10000] [--polygons 10000] [--vertices 400]

1. A web worker: the API benchmark's database (bench/api.py seeds it: the Barcelona demo's
   boundaries, its 73 neighbourhoods and categories, N reports by COPY) served by gunicorn with
   ONE sync worker, so that it answers every request, with Redis as cache and broker as in
   production. --requests requests (a mix of locate, the bbox list in JSON and GeoJSON, Open311
   lists and single requests, filings through the API and Open311, and map viewports at three
   zooms, in turn) from 4 client threads; then it prints the worker's resident memory (VmRSS,
   and its peak VmHWM) against the issue's target: at most 150 MB.
2. A routing index for --polygons polygons of --vertices vertices each (about what a national
   ward map holds; Barcelona's 73 neighbourhoods average 410): the polygons are written as
   authorities for the run (removed afterwards), and a fresh Python process builds the index
   Fixpoint builds (authorities.routing.build_index), routes 20,000 points spread over the map
   (so that its cache of decoded boundaries fills up), and prints how much its resident memory
   grew, once built and after routing, against the target: at most 100 MB more.

Its database is `fixpoint_bench_memory` (dropped and created again unless --reuse; its name must
contain "bench"); the Redis database given (default 7) is flushed at the end.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import api  # bench/api.py: the same data and the same requests
import seeding
import serving

ROOT = Path(__file__).resolve().parent.parent
WORKER_TARGET_MB = 150
INDEX_TARGET_MB = 100
ROUTED_POINTS = 20_000  # routed after the index is built, filling its cache of boundaries
WARD = "bench-ward-"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/fixpoint_bench_memory"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--polygons", type=int, default=10_000)
    parser.add_argument("--vertices", type=int, default=400, help="per polygon")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress, also to a file
    serving.local_only(args.database_url, args.redis_url)
    if not args.reuse:
        api._fresh_postgres(args.database_url)
    env = api._environment(args.database_url, args.redis_url)
    os.environ.update(env)
    import django

    django.setup()
    seeding.migrate()
    print(f"{api._seed(args.reports, args.seed)}; {seeding.report_count():,} reports")
    try:
        print(_worker(env, args))
    finally:
        api._flush(args.redis_url)
    print(_routing_index(args.polygons, args.vertices, args.seed))


# --- a web worker ------------------------------------------------------------------------------


def _worker(env: dict[str, str], args: argparse.Namespace) -> str:
    plan = api._plan(args.seed)
    requests = _mix(plan, args.requests, args.seed)
    with tempfile.TemporaryDirectory(prefix="fixpoint-bench-memory-") as tmp:
        server = serving.Gunicorn(Path(tmp), env, workers=1)
        server.start()
        try:
            [worker] = server.worker_pids()
            started = _memory(worker)
            seconds = _send(server.port, requests)
            after = _memory(worker)
        finally:
            server.stop()
    verdict = "met" if after["VmRSS"] <= WORKER_TARGET_MB else "MISSED"
    return (
        f"\nweb worker (1 sync worker, 73 neighbourhoods loaded): RSS {started['VmRSS']:.0f} MB"
        f" after its first request, {after['VmRSS']:.0f} MB after {len(requests):,} mixed"
        f" requests in {seconds:.0f} s (peak {after['VmHWM']:.0f} MB);"
        f" target at most {WORKER_TARGET_MB} MB: {verdict}"
    )


Request = tuple[str, str, bytes | None, dict[str, str]]


def _mix(plan: api.Plan, count: int, seed: int) -> list[Request]:
    """The API benchmark's requests and map viewports, in turn; filings with fresh bodies."""
    map_bench = importlib.import_module("map")  # bench/map.py (a module name Python shadows)
    rng = random.Random(seed)
    gets = [load for load in api._loads(plan, seed, idempotency=False) if not load.body]
    viewports = [
        map_bench._url(box, zoom)
        for _, zoom in map_bench.LEVELS
        for box in map_bench.viewports(zoom, 200, seed)
    ]
    kinds: list[serving.Load | str] = [*gets, "map", "create", "311 create"]
    made: list[Request] = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        if kind == "map":
            made.append(("GET", rng.choice(viewports), None, {}))
        elif isinstance(kind, str):
            made.append(_filing(plan, kind, i, rng))
        else:
            made.append(("GET", rng.choice(kind.paths), None, kind.headers))
    return made


def _filing(plan: api.Plan, kind: str, i: int, rng: random.Random) -> Request:
    lat, lon, slug = rng.choice(plan.spots)
    if kind == "create":
        body = {"title": f"Memory filing {i}", "description": "Benchmark.", "category": slug,
                "latitude": lat, "longitude": lon}  # fmt: skip
        headers = {"Content-Type": "application/json", "X-API-Key": plan.key}
        return "POST", "/api/v1/reports/", json.dumps(body).encode(), headers
    form = {"api_key": plan.key, "service_code": slug, "lat": lat, "long": lon,
            "email": "bench@example.org", "description": f"Memory filing {i}"}  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return "POST", "/open311/v2/requests.json", urlencode(form).encode(), headers


def _send(port: int, requests: list[Request]) -> float:
    def client(part: list[Request]) -> None:
        for method, path, body, headers in part:
            status, answer = serving.request(port, method, path, body, headers, timeout=120)
            if status >= 400:
                raise SystemExit(f"{method} {path} -> {status} {answer[:300]!r}")

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(client, [requests[i::4] for i in range(4)]))
    return time.perf_counter() - started


def _memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return found


# --- a routing index for a national map --------------------------------------------------------


def _routing_index(polygons: int, vertices: int, seed: int) -> str:
    barcelona = _index_growth()
    _write_wards(polygons, vertices, seed)
    try:
        national = _index_growth()
    finally:
        _remove_wards()
    grown = national["grown"]
    verdict = "met" if grown <= INDEX_TARGET_MB else "MISSED"
    return (
        f"routing index: Barcelona (city, 10 districts, 73 neighbourhoods) {barcelona['grown']:.1f}"
        f" MB; with {polygons:,} more polygons of {vertices} vertices"
        f" ({polygons * vertices / 1e6:.1f}M vertices) {national['built']:.1f} MB once built"
        f" in {national['seconds']:.1f} s, {grown:.1f} MB after routing {ROUTED_POINTS:,} points"
        f" all over it; target at most {INDEX_TARGET_MB} MB more: {verdict}"
    )


GROWTH = """
import gc, json, random, time
from pathlib import Path
import django
django.setup()
from authorities import routing

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

routing.current_version()  # the connection, and the ORM's first query
gc.collect()
before = rss()
started = time.perf_counter()
index = routing.build_index(routing.current_version())
seconds = time.perf_counter() - started
gc.collect()
built = rss() - before
# Then route points spread over the whole map, so that the cache of decoded boundaries
# (ROUTING_CACHE_VERTICES) is full, as in a process that has served a while.
rng = random.Random(1)
west, south, east, north = index.geometries.total_bounds()
for _ in range(POINTS):
    index.covering(rng.uniform(south, north), rng.uniform(west, east))
gc.collect()
print(json.dumps({"built": built, "grown": rss() - before, "seconds": seconds,
                  "size": len(index.authorities)}))
"""


def _index_growth() -> dict[str, float]:
    """How much a fresh process grows building the routing index from the database."""
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", GROWTH.replace("POINTS", str(ROUTED_POINTS))],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    if result.returncode:
        raise SystemExit(f"Building the index failed:\n{result.stderr[-3000:]}")
    found: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def _write_wards(count: int, vertices: int, seed: int) -> None:
    """``count`` polygons tiling a 10 x 6 degree region (about Spain's size), each the outline
    of its cell with ``vertices`` points jittered inwards, as agencies handling one category."""
    from authorities.models import Authority, AuthorityCategory, Category

    rng = random.Random(seed)
    columns = max(1, round((count * 10 / 6) ** 0.5))
    width = 10 / columns
    category = Category.objects.filter(is_active=True).first()
    rows = []
    for i in range(count):
        west, south = -9 + (i % columns) * width, 36 + (i // columns) * width
        rows.append(Authority(
            name=f"Ward {i}", slug=f"{WARD}{i}", kind="agency",
            boundary=_outline(west, south, width, vertices, rng),
        ))  # fmt: skip
    Authority.objects.bulk_create(rows, batch_size=500)
    if category is not None:
        wards = Authority.objects.filter(slug__startswith=WARD).values_list("pk", flat=True)
        AuthorityCategory.objects.bulk_create(
            [AuthorityCategory(authority_id=pk, category=category) for pk in wards],
            batch_size=2000,
        )


def _outline(
    west: float, south: float, size: float, vertices: int, rng: random.Random
) -> dict[str, object]:
    side = max(1, vertices // 4)
    ring = []
    for edge in range(4):
        for step in range(side):
            t, inward = step / side, rng.uniform(0, 0.02) if step else 0.0
            # Each edge moves inwards only across itself, so the ring never crosses itself.
            x, y = [(t, inward), (1 - inward, t), (1 - t, 1 - inward), (inward, 1 - t)][edge]
            ring.append([round(west + x * size, 7), round(south + y * size, 7)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def _remove_wards() -> None:
    from authorities.models import Authority, AuthorityCategory

    AuthorityCategory.objects.filter(authority__slug__startswith=WARD).delete()
    Authority.objects.filter(slug__startswith=WARD).delete()


if __name__ == "__main__":
    main()
