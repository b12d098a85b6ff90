"""API throughput: the native API and Open311 against a bare Django JSON view, on gunicorn,
loaded by wrk.

    python bench/api.py [--reports 1000000[,10000000]] [--database-url URL] [--redis-url URL]
                        [--reuse] [--seconds 20] [--rounds 4] [--threads 2] [--connections 32]
                        [--only locate,...]

Needs Debian's `wrk` (apt-get install wrk): a C load generator, so that the client does not bound
the bare view (a Python client on the same cores did, and inflated every share).

It creates its own PostgreSQL database (`fixpoint_bench_api` by default; dropped and created
again unless --reuse, and only if its name contains "bench"), migrates it, loads the Barcelona
demo's boundaries, neighbourhoods and categories, and seeds reports spread over the city by COPY
(bench/seeding.py), each with its history (one or two state changes). With several sizes
(--reports 1000000,10000000) it measures at each, topping the reports up in between, and prints
how each figure grows.

Then it starts gunicorn on a free port of 127.0.0.1 (2 sync workers, persistent database
connections, DEBUG off, throttles on with rates nobody reaches, cache and Celery broker in Redis
as in production) with a bare view added for the run (bench/serving.py):

    bare              GET /bench/bare.json -> JsonResponse({"ok": True}), same middleware
    locate            GET /api/v1/locate?lat=&lon=  (points the city covers)
    list bbox         GET /api/v1/reports/?bbox=w,s,e,n  (about 1 km x 1 km, first page of 50)
    list bbox geojson the same, ?format=geojson
    311 list          GET /open311/v2/requests.json?page_size=100&page=P  (the last 90 days)
    311 one           GET /open311/v2/requests/{id}.json
    create            POST /api/v1/reports/  (JSON, a write API key acting for a user)
    311 create        POST /open311/v2/requests.json  (form, api_key)

and then, after stopping it, a second gunicorn without CELERY_BROKER_URL (the `make run`
default: each process's worker thread follows the filing up and delivers it after the answer,
config.embedded) for "create (no broker)" and "311 create (no broker)". After each of their turns
the script waits until those threads have done what the turn's filings left, and counts that
time as the turn's: the rate is one the server keeps up with, not one that defers work.
Every POST has a fresh body (its own title and spot), and an Idempotency-Key header of its own
when the server honours one (probed first: the same key sent twice gives the same report).

With a broker and a cache the workers share (both Redis here), a filing leaves its follow-up
(the reporter's subscription, area alerts, the delivery row, the map tiles) to a Celery worker.
No worker runs while gunicorn is measured, so that work is not on the web's clock or cores;
afterwards this process does it for every filing of the run, as a worker would, and prints how
long it took.

Each endpoint is loaded by `wrk -t2 -c32` for --seconds, in --rounds turns alternating with as
many seconds of the bare view, so both see the same machine. It prints requests/second,
latency percentiles (p50, p95, p99, over all turns), the share of the bare view's throughput and
the issue's target, met or missed, and warns when the bare view is not at least twice as fast
as the fastest endpoint (then the machine or wrk bounds it, and the shares mean little). gunicorn
is stopped at the end, also after an error or Ctrl-C; the Redis database given is flushed at
the end (default 7, which nothing else in Fixpoint uses).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import seeding  # bench/seeding.py: this script's folder is on sys.path
import serving
from serving import Load, Row

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLUMNS = seeding.report_columns("confirmed_at")
# Shares of the bare view (issue 18, "Targets"), at 1M reports.
TARGETS = {
    "locate": 0.50,
    "311 one": 0.50,
    "311 list": 0.15,
    "list bbox": 0.15,
    "list bbox geojson": 0.15,
    "create": 0.12,
    "311 create": 0.12,
    "create (no broker)": 0.06,
    "311 create (no broker)": 0.06,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", default="1000000", help="a size, or sizes: 1000000,10000000")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/fixpoint_bench_api"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--seconds", type=float, default=20, help="per endpoint (and bare)")
    parser.add_argument("--rounds", type=int, default=4, help="alternations with the bare view")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only", default="", help="comma-separated endpoints to measure, e.g. 'locate,311 one'"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress, also to a file
    serving.require_wrk()
    serving.local_only(args.database_url, args.redis_url)
    sizes = sorted(int(size) for size in args.reports.split(","))
    if not args.reuse:
        _fresh_postgres(args.database_url)
    env = _environment(args.database_url, args.redis_url)
    os.environ.update(env)
    import django

    django.setup()
    seeding.migrate()
    measured: dict[int, list[Row]] = {}
    for size in sizes:
        seeded = seeding.seeded_count()
        if seeded > size:
            print(f"Skipping {size:,} reports: the database holds {seeded:,} (drop --reuse).")
            continue
        print(f"{_seed(size, args.seed)}; {seeding.report_count():,} reports in the database")
        measured[size] = _measure(args, env)
        print(f"\nAt {size:,} reports:\n{serving.table(measured[size])}")
        print(serving.load_generator_check(measured[size]))
    if len(measured) > 1:
        print(_growth(measured))


# --- the database ------------------------------------------------------------------------------


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
        **serving.server_env(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def _seed(n: int, seed: int) -> str:
    return seeding.seed_demo_city(
        n,
        COLUMNS,
        partial(seeding.routed_rows, seed=seed, prefix="B", milestones=_confirmed),
        after=_history,
        tables=("reports_report", "reports_reportstatechange"),
    )


def _confirmed(rng: random.Random, state: str, created: Any, now: Any) -> tuple[Any, ...]:
    return (None if state == "unconfirmed" else created,)


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
class Plan:
    spots: list[tuple[float, float, str]]  # (lat, lon, category slug) routable, no question
    refs: list[str]  # public reports
    key: str  # a write API key acting for a user


def _plan(seed: int) -> Plan:
    from accounts.models import User
    from accounts.services import api_client_create
    from reports.models import Report

    rng = random.Random(seed)
    user, _ = User.objects.get_or_create(email="bench-api@example.org")
    _, key = api_client_create(name=f"bench {time.time():.0f}", scope="write", user=user)
    refs = list(
        Report.objects.public().order_by("?").values_list("ref", flat=True)[:1000]
    )  # ORDER BY random() over the table: once, before measuring
    return Plan(_routable_spots(rng, 500), refs, key)


def _loads(plan: Plan, seed: int, idempotency: bool) -> list[Load]:
    rng = random.Random(seed)
    json_get = {"Accept": "application/json"}

    def point() -> tuple[float, float]:
        lat, lon, _ = rng.choice(plan.spots)
        return lat, lon

    def bbox() -> str:
        lat, lon = point()
        box = (lon - 0.006, lat - 0.0045, lon + 0.006, lat + 0.0045)  # about 1 km x 1 km
        return f"/api/v1/reports/?{urlencode({'bbox': ','.join(f'{v:.6f}' for v in box)})}"

    def located() -> str:
        lat, lon = point()
        return f"/api/v1/locate?{urlencode({'lat': lat, 'lon': lon})}"

    many = range(2000)
    return [
        Load("locate", [located() for _ in many], headers=json_get),
        Load("list bbox", [bbox() for _ in many], headers=json_get),
        Load(
            "list bbox geojson", [bbox() for _ in many], headers={"Accept": "application/geo+json"}
        ),
        Load(
            "311 list",
            [f"/open311/v2/requests.json?page_size=100&page={rng.randint(1, 20)}" for _ in many],
        ),
        Load("311 one", [f"/open311/v2/requests/{rng.choice(plan.refs)}.json" for _ in many]),
        *_filings(plan, "", idempotency),
    ]


def _filings(plan: Plan, suffix: str, idempotency: bool) -> list[Load]:
    """A fresh filing each time: title numbered by wrk's thread and counter, a spot in turn."""
    spots = "spots = {" + ", ".join(
        f"{{{lat:.6f}, {lon:.6f}, {json.dumps(slug)}}}" for lat, lon, slug in plan.spots
    ) + "}"  # fmt: skip
    spot = "spots[n % #spots + 1]"
    rest = (
        '{"title": "Bench filing %d-%d", "description": "Benchmark.", "category": "%s",'
        ' "latitude": %f, "longitude": %f}'
    )
    form = (
        "api_key=%s&service_code=%s&lat=%f&long=%f&email=bench%%40example.org"
        "&description=Bench+filing+%d-%d"
    )
    return [
        Load(
            f"create{suffix}", ["/api/v1/reports/"], expected=201,
            headers={"Accept": "application/json", "Content-Type": "application/json",
                     "X-API-Key": plan.key},
            lua_data=spots, idempotency_key=idempotency,
            body=f"string.format({json.dumps(rest)}, id, n, {spot}[3], {spot}[1], {spot}[2])",
        ),
        Load(
            f"311 create{suffix}", ["/open311/v2/requests.json"], expected=200,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            lua_data=spots, idempotency_key=idempotency,
            body=(f"string.format({json.dumps(form)}, {json.dumps(plan.key)}, {spot}[3],"
                  f" {spot}[1], {spot}[2], id, n)"),
        ),
    ]  # fmt: skip


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


# --- measuring ---------------------------------------------------------------------------------


def _measure(args: argparse.Namespace, env: dict[str, str]) -> list[Row]:
    plan = _plan(args.seed)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="fixpoint-bench-api-") as tmp:
        try:
            rows += _on_server(Path(tmp), env, plan, args, wanted, broker=True)
            print(_follow_up())
            print(_deliver())
            without = {**env, "CELERY_BROKER_URL": ""}  # unset: tasks on a thread of each worker
            rows += _on_server(Path(tmp), without, plan, args, wanted, broker=False)
        finally:
            _flush(args.redis_url)
    return rows


def _on_server(
    tmp: Path,
    env: dict[str, str],
    plan: Plan,
    args: argparse.Namespace,
    wanted: set[str],
    *,
    broker: bool,
) -> list[Row]:
    server = serving.Gunicorn(tmp, env, workers=2, name="-broker" if broker else "-no-broker")
    server.start()
    try:
        mode = "with a Celery broker (Redis)" if broker else "without a broker (make run)"
        print(f"gunicorn on port {server.port}, 2 sync workers, {mode}")
        idempotency = _idempotency_supported(server.port, plan)
        if broker:
            print(
                f"Idempotency-Key: {'honoured, sent' if idempotency else 'not honoured, not sent'}"
            )
            loads = _loads(plan, args.seed, idempotency)
        else:
            loads = _filings(plan, " (no broker)", idempotency)
        loads = [load for load in loads if not wanted or load.name in wanted]
        settle = None if broker else _catch_up
        return [_endpoint(server.port, load, args, settle) for load in loads]
    finally:
        server.stop()


def _endpoint(
    port: int, load: Load, args: argparse.Namespace, settle: Callable[[], None] | None = None
) -> Row:
    bare = serving.bare_load()
    kwargs = {"threads": args.threads, "connections": args.connections}
    warm = serving.wrk(port, load, 1, **kwargs)  # the routing index, connections, code paths
    if warm.errors.get("non-2xx/3xx"):
        raise SystemExit(
            f"{load.name}: {warm.error_line()} while warming up: {_sample(port, load)}"
        )
    print(f"  {load.name}: measuring ({serving.machine_line()})")
    ours, base = serving.alternate(
        port, load, bare, args.seconds, args.rounds, settle=settle, **kwargs
    )
    return Row(load.name, ours, base, TARGETS.get(load.name))


def _sample(port: int, load: Load) -> str:
    if load.body:
        return "(a POST: see the gunicorn log)"
    status, body = serving.request(port, "GET", load.paths[0], headers=load.headers)
    return f"GET {load.paths[0]} -> {status} {body[:300]!r}"


def _idempotency_supported(port: int, plan: Plan) -> bool:
    """Whether the server answers a filing sent twice with the same Idempotency-Key with the same
    report (then every filing is sent with a key of its own)."""
    lat, lon, slug = plan.spots[0]
    body = json.dumps({"title": "Idempotency probe", "description": "Benchmark.",
                       "category": slug, "latitude": lat, "longitude": lon}).encode()  # fmt: skip
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "X-API-Key": plan.key, "Idempotency-Key": f"probe-{time.time_ns()}"}  # fmt: skip
    answers = [serving.request(port, "POST", "/api/v1/reports/", body, headers) for _ in range(2)]
    if any(status != 201 for status, _ in answers):
        raise SystemExit(f"Filing failed: {answers[0][0]} {answers[0][1][:300]!r}")
    first, second = (json.loads(answer)["id"] for _, answer in answers)
    return bool(first == second)


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


def _deliver() -> str:
    """The deliveries the follow-up wrote, sent here as a worker would (to the dummy mail
    backend), so that the run without a broker starts with none due."""
    from reports.delivery import deliveries_send_due

    started = time.perf_counter()
    summary = deliveries_send_due(ignore_backoff=True, limit=1_000_000)
    seconds = time.perf_counter() - started
    per = f", {seconds / summary.sent * 1e3:.2f} ms each" if summary.sent else ""
    return (
        f"delivery (a worker's share of each filing: claim, e-mail, outcome): {summary.sent:,}"
        f" sent, {summary.failed:,} failed in {seconds:.1f} s{per}, in one process"
    )


def _catch_up() -> None:
    """Without a broker the gunicorn workers' own threads follow filings up and deliver them
    after the answers: wait until they have done all a turn's filings left (its time counts as
    the turn's, serving.alternate), and say how much that was."""
    from reports.models import HIDDEN_STATES, Delivery, DeliveryStatus, Report

    def left() -> tuple[int, int]:
        # Hidden reports keep their flag until staff restore them (reports.followups).
        waiting = Report.objects.filter(follow_up_due=True).exclude(state__in=HIDDEN_STATES).count()
        sending = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
        return waiting, Delivery.objects.filter(status__in=sending).count()

    at_end, started = left(), time.perf_counter()
    while any(left()):
        if time.perf_counter() - started > 120:
            raise SystemExit("The worker threads did not catch up within 120 s.")
        time.sleep(0.05)
    print(
        f"    after the turn: {at_end[0]:,} filings to follow up, {at_end[1]:,} deliveries to"
        f" send; the worker threads caught up in {time.perf_counter() - started:.1f} s (counted)"
    )


def _flush(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # only the benchmark's own database number


def _growth(measured: dict[int, list[Row]]) -> str:
    sizes = sorted(measured)
    head = "".join(f" {f'{size:,} reports':>22}" for size in sizes)
    lines = [f"\nHow the figures grow (req/s, p95 ms, share):\n  {'endpoint':<24}{head}"]
    names = [row.name for row in measured[sizes[0]]]
    for name in names:
        cells = []
        for size in sizes:
            row = next((r for r in measured[size] if r.name == name), None)
            cells.append(
                f" {row.ours.rps:>7,.0f} {row.ours.percentile(95) * 1e3:6.1f} {row.share:6.1%}"
                if row
                else f" {'-':>22}"
            )
        lines.append(f"  {name:<24}{''.join(cells)}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
