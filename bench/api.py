"""API throughput: the native API and Open311 against a bare Django JSON view, on gunicorn.

    python bench/api.py [--reports 1000000] [--database-url URL] [--redis-url URL] [--reuse]
                        [--requests 1000] [--threads 4] [--rounds 4] [--only locate,...]

It creates its own PostgreSQL database (`fixpoint_bench_api` by default; dropped and created
again unless --reuse, and only if its name contains "bench"), migrates it, loads the Barcelona
demo's boundaries and categories, and seeds N reports spread over the city by COPY, each with its
history (one or two state changes). Then it starts gunicorn on a free port of 127.0.0.1 (2 sync
workers, persistent database connections, DEBUG off, throttles on with rates nobody reaches,
cache and Celery broker in Redis as in production) with a bare view added for the run by a
settings module and URLconf written to a temporary directory, so nothing in the project changes:

    bare       GET /bench/bare.json -> JsonResponse({"ok": True}), through the same middleware
    locate     GET /api/v1/locate?lat=&lon=  (points the city covers)
    list bbox  GET /api/v1/reports/?bbox=w,s,e,n  (about 1 km x 1 km, first page of 50)
    311 list   GET /open311/v2/requests.json?page_size=100&page=P  (the last 90 days)
    311 one    GET /open311/v2/requests/{id}.json
    create     POST /api/v1/reports/  (JSON, a write API key acting for a user)

With a broker and a cache the workers share (both Redis here), a filing leaves its follow-up
(the reporter's subscription, area alerts, the delivery row, the map tiles) to a Celery worker.
No worker runs while gunicorn is measured, so that work is not on the web's clock or cores;
afterwards this process does it for every filing of the run, as a worker would, and prints how
long it took.

Each endpoint is loaded with --requests requests from --threads client threads (http.client;
gunicorn's sync workers close every connection, so each request connects anew, the bare view's
too), in --rounds rounds that alternate with the same number of bare requests, so both see the
same machine. It prints requests/second, p50/p95 latency, the share of the bare view's
throughput and the target. gunicorn is stopped at the end, also after an error or Ctrl-C; the
Redis database given is flushed at the end (default 7, which nothing else in Fixpoint uses).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import seeding  # bench/seeding.py: this script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
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
    "confirmed_at",
    "authority_id",
    "category_id",
)
TARGETS = {"locate": 0.40, "311 list": 0.10, "311 one": 0.30, "create": 0.15}
SETTINGS = """\
from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench_api_urls"
"""
URLCONF = """\
from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as fixpoint


def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare.json", bare), *fixpoint]
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/fixpoint_bench_api"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint (and bare)")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--rounds", type=int, default=4, help="alternations with the bare view")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only", default="", help="comma-separated endpoints to measure, e.g. 'locate,311 one'"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress, also to a file
    _check_local(args.database_url, args.redis_url)
    if not args.reuse:
        _fresh_postgres(args.database_url)
    env = _environment(args.database_url, args.redis_url)
    os.environ.update(env)
    import django

    django.setup()
    print(f"{_seed(args.reports, args.seed)}; {seeding.report_count():,} reports in the database")
    load = _load_plan(args.requests, args.seed)
    if args.only:
        wanted = {"bare", *(name.strip() for name in args.only.split(","))}
        load = [endpoint for endpoint in load if endpoint.name in wanted]
    with tempfile.TemporaryDirectory(prefix="fixpoint-bench-api-") as tmp:
        server = Gunicorn(Path(tmp), env)
        try:
            server.start()
            results = _run(server.port, load, args)
        finally:
            server.stop()
        try:
            follow_up = _follow_up()
        finally:
            _flush(args.redis_url)
    _report(results, args)
    print(follow_up)


# --- the database ------------------------------------------------------------------------------


def _check_local(*urls: str) -> None:
    for url in urls:
        if urlparse(url).hostname not in ("127.0.0.1", "localhost"):
            sys.exit(f"Refusing {url}: the benchmark talks to 127.0.0.1 only.")


def _fresh_postgres(database_url: str) -> None:
    if not urlparse(database_url).scheme.startswith("postgres"):
        sys.exit("The API benchmark needs PostgreSQL (COPY, and the production database).")
    seeding.fresh_database(database_url)


def _environment(database_url: str, redis_url: str) -> dict[str, str]:
    """What both this process (seeding) and gunicorn run with: production code paths."""
    return {
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "3600",  # persistent connections
        "CACHE_URL": redis_url,  # throttle counters, as in production
        "CELERY_BROKER_URL": redis_url,  # deliveries are queued, never sent (no worker runs)
        "EMAIL_URL": "dummymail://",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": HOST,
        "SECURE_HTTPS": "false",
        "STATIC_MANIFEST": "false",  # no collectstatic for a benchmark; the API renders no pages
        # Throttles stay on (their cache round trips are part of every request), out of reach.
        "API_RATE_ANON": "100000000/min",
        "API_RATE_USER": "100000000/min",
        "API_RATE_CLIENT": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "DJANGO_LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def _seed(n: int, seed: int) -> str:
    return seeding.seed_demo_city(
        n,
        COLUMNS,
        partial(_rows, seed=seed),
        after=_history,
        tables=("reports_report", "reports_reportstatechange"),
    )


def _rows(
    n: int,
    start: int,
    city: Any,
    districts: list[Any],
    categories: list[tuple[int, bool]],
    *,
    seed: int,
) -> Iterator[tuple[Any, ...]]:
    """Reports routed as report_create would (seeding.routed_reports), created over three years.
    No query may run in here: the rows are made while COPY holds the connection."""
    from django.utils import timezone

    rng = random.Random(seed)  # shared with routed_reports: the same draws as before it existed
    now = timezone.now()
    routed = seeding.routed_reports(n, seed, city, districts, categories, rng=rng)
    for i, (lat, lon, state, authority, category) in enumerate(routed):
        created = now - timedelta(seconds=rng.randrange(3 * 365 * 86_400))
        confirmed = None if state == "unconfirmed" else created
        yield (f"B{start + i:09d}", f"Bench report {start + i}", "Something is broken here.",
               lat, lon, "{}", "", "", False, state, created, created, confirmed, authority,
               category)  # fmt: skip


def _history(after: int) -> None:
    """Every report's filing as a state change, and for those past open a second one with a
    public note: Open311's status_notes reads the latest."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reports_reportstatechange (report_id, from_state, to_state, actor_kind,"
            " public_note, internal_note, created_at)"
            " SELECT id, '', CASE WHEN state = 'unconfirmed' THEN state ELSE 'open' END,"
            " 'reporter', '', '', created_at FROM reports_report WHERE id > %s",
            [after],
        )
        cursor.execute(
            "INSERT INTO reports_reportstatechange (report_id, from_state, to_state, actor_kind,"
            " public_note, internal_note, created_at)"
            " SELECT id, 'open', state, 'staff', 'Seen by the crew.', '',"
            " created_at + interval '1 day' FROM reports_report"
            " WHERE id > %s AND state NOT IN ('open', 'unconfirmed')",
            [after],
        )


# --- what the clients ask ----------------------------------------------------------------------


@dataclass
class Load:
    name: str
    requests: list[tuple[str, str, bytes | None, dict[str, str], int]]  # method, path, body, …


def _load_plan(count: int, seed: int) -> list[Load]:
    from accounts.models import User
    from accounts.services import api_client_create
    from reports.models import Report

    rng = random.Random(seed)
    spots = _routable_spots(rng, 500)
    user, _ = User.objects.get_or_create(email="bench-api@example.org")
    _, key = api_client_create(name=f"bench {time.time():.0f}", scope="write", user=user)
    refs = list(
        Report.objects.public().order_by("?").values_list("ref", flat=True)[:1000]
    )  # ORDER BY random() over the table: once, before measuring
    json_get = {"Accept": "application/json"}
    write = {**json_get, "Content-Type": "application/json", "X-API-Key": key}

    def many(make: Any) -> list[tuple[str, str, bytes | None, dict[str, str], int]]:
        return [make() for _ in range(count)]

    def locate() -> tuple[str, str, None, dict[str, str], int]:
        lat, lon, _ = rng.choice(spots)
        return "GET", f"/api/v1/locate?{urlencode({'lat': lat, 'lon': lon})}", None, json_get, 200

    def bbox() -> tuple[str, str, None, dict[str, str], int]:
        lat, lon, _ = rng.choice(spots)
        box = (lon - 0.006, lat - 0.0045, lon + 0.006, lat + 0.0045)  # about 1 km x 1 km
        query = urlencode({"bbox": ",".join(f"{v:.6f}" for v in box)})
        return "GET", f"/api/v1/reports/?{query}", None, json_get, 200

    def open311_list() -> tuple[str, str, None, dict[str, str], int]:
        query = urlencode({"page_size": 100, "page": rng.randint(1, 20)})
        return "GET", f"/open311/v2/requests.json?{query}", None, {}, 200

    def open311_one() -> tuple[str, str, None, dict[str, str], int]:
        return "GET", f"/open311/v2/requests/{rng.choice(refs)}.json", None, {}, 200

    def create() -> tuple[str, str, bytes, dict[str, str], int]:
        lat, lon, category = rng.choice(spots)
        body = {"title": "Broken bench", "description": "Benchmark.", "category": category,
                "latitude": lat, "longitude": lon}  # fmt: skip
        return "POST", "/api/v1/reports/", json.dumps(body).encode(), write, 201

    bare = ("GET", "/bench/bare.json", None, json_get, 200)
    return [
        Load("bare", [bare] * count),
        Load("locate", many(locate)),
        Load("list bbox", many(bbox)),
        Load("311 list", many(open311_list)),
        Load("311 one", many(open311_one)),
        Load("create", many(create)),
    ]


def _routable_spots(rng: random.Random, count: int) -> list[tuple[float, float, str]]:
    """Points in the city with a category offered there that asks no required question, so that
    locate answers 200 and a report filed there is a 201."""
    from authorities import routing
    from authorities.models import Authority, Category

    boundary = Authority.objects.get(slug="barcelona").boundary
    assert boundary is not None
    asks = set(Category.objects.filter(questions__required=True).values_list("slug", flat=True))
    spots = []
    for lat, lon, _ in seeding.points_in_parts(count * 2, rng.randrange(1 << 30), boundary):
        try:
            offers = routing.locate(lat, lon).offers
        except routing.NoAuthorityHere:
            continue
        simple = [o.category.slug for o in offers if o.category.slug not in asks]
        if simple:
            spots.append((lat, lon, rng.choice(simple)))
    if len(spots) < count // 2:
        raise SystemExit("Too few routable points: are the boundaries and categories loaded?")
    return spots[:count]


# --- the server ------------------------------------------------------------------------------


class Gunicorn:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tmp / "gunicorn.log"

    def start(self) -> None:
        (self.tmp / "bench_api_settings.py").write_text(SETTINGS)
        (self.tmp / "bench_api_urls.py").write_text(URLCONF)
        env = {
            **os.environ,
            **self.env,
            "DJANGO_SETTINGS_MODULE": "bench_api_settings",
            "PYTHONPATH": os.pathsep.join([str(self.tmp), str(ROOT)]),
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            f"--bind={HOST}:{self.port}",
            "--workers=2",
            "--worker-class=sync",
            "--timeout=120",
            f"--error-logfile={self.log}",
            "--log-level=warning",
            f"--chdir={ROOT}",
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn)
                command, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_up()
        print(f"gunicorn (pid {self.process.pid}) on http://{HOST}:{self.port}/, 2 sync workers")

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                if _get(self.port, "/bench/bare.json") == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within 60 s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        print(f"gunicorn (pid {self.process.pid}) stopped")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _follow_up() -> str:
    """The work a filing leaves to a Celery worker (reports.followups): no worker runs during the
    measurement, so the filings wait; one is timed here doing them, in this process."""
    from reports import followups
    from reports.models import Report

    waiting = Report.objects.filter(follow_up_due=True).count()
    if not waiting:
        return "follow-up: no filing left any to a worker"
    started = time.perf_counter()
    done = followups.reports_follow_up(limit=waiting)
    seconds = time.perf_counter() - started
    return (
        f"follow-up (a worker's share of each filing: subscription, area alerts, delivery row,"
        f" map tiles): {done:,} reports in {seconds:.1f} s, {done / seconds:,.0f}/s,"
        f" {seconds / done * 1e3:.2f} ms each, in one process"
    )


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _flush(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # only the benchmark's own database number


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Stats:
    name: str
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    bytes: int = 0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]

    def add(self, other: Stats) -> None:
        self.latencies += other.latencies
        self.wall += other.wall
        self.bytes += other.bytes


def _measure(port: int, name: str, requests: list[Any], threads: int) -> Stats:
    chunks = [requests[i::threads] for i in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(lambda chunk: _client(port, name, chunk), chunks))
    stats = Stats(name, wall=time.perf_counter() - started)
    for latencies, size in parts:
        stats.latencies += latencies
        stats.bytes += size
    return stats


def _client(port: int, name: str, requests: list[Any]) -> tuple[list[float], int]:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    latencies, size = [], 0
    try:
        for method, path, body, headers, expected in requests:
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()  # the connection closes itself after a "Connection: close"
            latencies.append(time.perf_counter() - started)
            size += len(data)
            if response.status != expected:
                raise SystemExit(f"{name}: {method} {path} -> {response.status} {data[:300]!r}")
    finally:
        conn.close()
    return latencies, size


def _run(port: int, loads: list[Load], args: argparse.Namespace) -> list[tuple[Stats, Stats]]:
    bare, *endpoints = loads
    print(f"load average before measuring: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    for load in loads:  # warm up: the routing index, connections, code paths of each worker
        _measure(port, load.name, load.requests[: 10 * args.threads], args.threads)
    results = []
    for load in endpoints:
        ours, base = Stats(load.name), Stats("bare")
        size = math.ceil(len(load.requests) / args.rounds)
        for start in range(0, len(load.requests), size):
            for into, batch in ((ours, load.requests), (base, bare.requests)):
                into.add(_measure(port, into.name, batch[start : start + size], args.threads))
        results.append((ours, base))
        print(f"  measured {load.name} (load average {os.getloadavg()[0]:.2f})")
    return results


def _report(results: list[tuple[Stats, Stats]], args: argparse.Namespace) -> None:
    print(
        f"\n{args.requests} requests per endpoint from {args.threads} client threads, in "
        f"{args.rounds} rounds alternating with as many bare-view requests "
        f"({os.cpu_count()} CPUs shared by clients, gunicorn and PostgreSQL)"
    )
    print(f"  {'endpoint':<12} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'KB/resp':>8}"
          f" {'bare req/s':>11} {'share':>7} {'target':>7}")  # fmt: skip
    for ours, bare in results:
        share = ours.rps / bare.rps
        target = TARGETS.get(ours.name)
        verdict = f">= {target:.0%}" + (" ok" if share >= target else " MISSED") if target else ""
        print(
            f"  {ours.name:<12} {ours.rps:8,.0f} {ours.percentile(50) * 1e3:8.1f}"
            f" {ours.percentile(95) * 1e3:8.1f} {ours.bytes / len(ours.latencies) / 1024:8.1f}"
            f" {bare.rps:11,.0f} {share:7.0%} {verdict}"
        )


if __name__ == "__main__":
    main()
