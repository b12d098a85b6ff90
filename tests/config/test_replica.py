"""Reads that may be a second stale go to the read replica; writes and read-your-own-writes never
do (config.replica).

The replica here is a second real database on the same PostgreSQL server, copied from the test
database before the tests and then never written by the primary: a replica that has replayed
nothing since. What it answers shows where a view read; the queries each connection received show
it too.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections, router
from django.http import HttpRequest, JsonResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from psycopg import sql

from accounts.models import ApiScope
from accounts.services import api_client_create
from authorities.models import Category
from config import replica
from config.replica import PIN_COOKIE, REPLICA, replica_reads
from reports import map as mapdata
from reports.map import tiles as map_tiles
from reports.models import AuditAction, AuditEntry, Report
from tests import factories
from tests.conftest import TinyCity

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two PostgreSQL databases"),
    pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, REPLICA]),
]


@pytest.fixture(scope="module", autouse=True)
def replica_database(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """A second database copied from the test database, as the "replica" alias."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    name = f"{primary['NAME']}_replica"
    with django_db_blocker.unblock():
        replicate()
    try:
        yield name
    finally:
        with django_db_blocker.unblock():
            connections[REPLICA].close()
            del connections[REPLICA]  # this thread's connection object
            del connections.settings[REPLICA]
            _admin(primary, "DROP DATABASE IF EXISTS {}", name)


def replicate() -> None:
    """(Re)make the replica as a copy of the primary's committed data: a replica that has
    replayed everything so far (and, in a test transaction, nothing after)."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    name = f"{primary['NAME']}_replica"
    connections.close_all()  # a template must have no other sessions
    _admin(primary, "DROP DATABASE IF EXISTS {}", name)
    _admin(primary, "CREATE DATABASE {} TEMPLATE {}", name, primary["NAME"])
    connections.settings[REPLICA] = {**copy.deepcopy(primary), "NAME": name}


def _admin(primary: dict[str, Any], statement: str, *names: str) -> None:
    with psycopg.connect(
        host=primary["HOST"] or "127.0.0.1",
        port=primary["PORT"] or 5432,
        user=primary["USER"],
        password=primary["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(sql.SQL(statement).format(*map(sql.Identifier, names)))


@pytest.fixture(autouse=True)
def _router(settings: Any) -> None:
    """What config/settings.py adds when DATABASE_REPLICA_URL is set."""
    settings.DATABASE_ROUTERS = ["config.replica.ReplicaRouter"]
    settings.MIDDLEWARE = ["config.replica.ReplicaPinMiddleware", *settings.MIDDLEWARE]


@contextmanager
def reads() -> Iterator[tuple[list[str], list[str]]]:
    """The statements each database received, by SQL, while the block ran: (primary, replica)."""
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
    ):
        got: tuple[list[str], list[str]] = ([], [])
        yield got
    got[0].extend(q["sql"] for q in primary.captured_queries)
    got[1].extend(q["sql"] for q in on_replica.captured_queries)


@contextmanager
def reads_past_the_router() -> Iterator[list[str]]:
    """Reads the primary received while the router would have sent them to the replica: raw SQL
    that forgot config.replica.read_connection (or a compiled query that ignored the router)."""
    leaked: list[str] = []

    def watch(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        reading = sql.lstrip().upper().startswith(("SELECT", "WITH", "DECLARE"))
        if reading and router.db_for_read(Report) == REPLICA:
            leaked.append(sql)
        return execute(sql, *args)

    with connections[DEFAULT_DB_ALIAS].execute_wrapper(watch):
        yield leaked


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


# --- every view that opted in --------------------------------------------------------------------

# Each view marked with @replica_reads, by an address it answers (staff: as staff).
MARKED = {
    "/": "reports.views.home",
    "/map/reports.json?bbox=1.0,10.0,1.2,10.1&zoom=13": "reports.map.views.viewport_json",
    "/map/list.json?bbox=1.0,10.0,1.2,10.1": "reports.json_views.viewport_list",
    "/api/v1/reports/?bbox=1.0,10.0,1.2,10.1": "ReportViewSet.list",
    "/api/v1/authorities/": "AuthorityViewSet.list",
    "/api/v1/authorities/west/stats/": "AuthorityViewSet.stats",
    "/api/v1/authorities/west/performance/": "AuthorityViewSet.performance",
    "/authorities/west/": "reports.views.authority_page",
    "/authorities/west/performance.csv": "reports.views.authority_performance_csv",
    "/open311/v2/discovery.json": "reports.open311.views.discovery",
    "/open311/v2/services.json": "reports.open311.views.service_list",
    "/open311/v2/services/pothole.json": "reports.open311.views.service_definition",
    "/open311/v2/requests.json": "reports.open311.views.requests",
    "/open311/v2/requests/NOPE1.json": "reports.open311.views.request_detail",
    "/open311/v2/tokens/NOPE1.json": "reports.open311.views.token",
    "/open311/v2/servicerequestupdates.json": "reports.open311.views.request_updates",
    "/staff/stats/": "reports.staff.stats_views.stats_page",
    "/staff/export.csv": "reports.staff.stats_views.export_csv",
}


def _view_name(callback: Any, method: str = "get") -> str | None:
    """The marked view behind a URL pattern's callback (a DRF viewset's action for GET)."""
    actions = getattr(callback, "actions", None)
    if actions is not None:
        action = actions.get(method)
        marked = getattr(getattr(callback.cls, action or "", None), "replica_reads", False)
        return f"{callback.cls.__name__}.{action}" if marked else None
    if getattr(callback, "replica_reads", False):
        return f"{callback.__module__}.{callback.__qualname__}"
    return None


def _marked_views(patterns: list[Any]) -> set[str]:
    found: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found |= _marked_views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and (name := _view_name(pattern.callback)):
            found.add(name)
    return found


def test_the_table_below_names_every_view_that_reads_from_the_replica() -> None:
    # A view newly marked must be added to MARKED, and so is walked by the next test.
    assert _marked_views(get_resolver().url_patterns) == set(MARKED.values())
    for url, name in MARKED.items():
        assert _view_name(resolve(url.split("?")[0]).func) == name


@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
def test_every_marked_view_reads_from_the_replica_and_never_past_the_router(
    tiny_city: TinyCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    replicate()  # the replica has replayed all of it
    _map_changed_a_minute_ago(monkeypatch)
    staff = Client()
    staff.force_login(tiny_city.west_staff)
    for url in MARKED:
        client = staff if url.startswith("/staff/") else Client()
        with reads() as (primary, on_replica), reads_past_the_router() as leaked:
            response = client.get(url.replace("NOPE1", report.ref))
            body(response)
        assert response.status_code == 200, url
        assert on_replica, f"{url} read nothing from the replica"
        assert not any("reports_report" in q for q in primary), f"{url} read reports there"
        assert leaked == [], f"{url} read from the primary past the router"
        wrote = url == "/staff/export.csv"  # its audit row
        assert (PIN_COOKIE in response.cookies) == wrote, url


def test_head_requests_read_from_the_replica_too(tiny_city: TinyCity) -> None:
    with reads() as (primary, on_replica):
        response = Client().head("/api/v1/reports/")

    assert response.status_code == 200
    assert on_replica and primary == []


# --- what the replica holds, and read-your-own-writes -------------------------------------------


def test_a_marked_view_answers_what_the_replica_holds(tiny_city: TinyCity) -> None:
    Category.objects.using(REPLICA).create(name="Only on the replica", slug="replica-only")

    response = Client().get("/open311/v2/services/replica-only.json")

    assert response.status_code == 200
    assert response.json()["service_code"] == "replica-only"
    assert not Category.objects.filter(slug="replica-only").exists()  # not on the primary


def _file(client: Client, key: str) -> Any:
    form = {"api_key": key, "service_code": "pothole", "lat": "10.05", "long": "1.05",
            "description": "A deep hole by the bus stop.", "email": "ann@example.org"}  # fmt: skip
    return client.post("/open311/v2/requests.json", form)


def test_a_client_that_filed_reads_its_report_from_the_primary_for_the_pin_window(
    tiny_city: TinyCity, settings: Any
) -> None:
    settings.FIXPOINT_REPLICA_PIN_SECONDS = 7
    key = api_client_create(name="App", scope=ApiScope.WRITE, user=tiny_city.west_staff)[1]
    citizen = Client()
    with reads() as (_, on_replica):
        filed = _file(citizen, key)
    assert filed.status_code == 200
    assert on_replica == []  # a write, and everything it read, on the primary
    ref = filed.json()[0]["service_request_id"]
    assert filed.cookies[PIN_COOKIE]["max-age"] == 7

    with reads() as (_, on_replica):
        listed = citizen.get("/open311/v2/requests.json").json()

    assert ref in {row["service_request_id"] for row in listed}
    assert on_replica == []
    stranger = Client().get("/open311/v2/requests.json").json()
    assert ref not in {row["service_request_id"] for row in stranger}  # not replayed yet


def test_a_report_asked_for_by_id_that_the_replica_lacks_comes_from_the_primary(
    tiny_city: TinyCity,
) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    with reads() as (primary, on_replica):
        response = Client().get(f"/open311/v2/requests/{report.ref}.json")

    assert response.status_code == 200
    assert response.json()[0]["service_request_id"] == report.ref
    assert on_replica and primary  # asked the replica first, then the primary


def test_a_request_that_wrote_reads_from_the_primary_and_pins_its_client() -> None:
    decisions = _decisions(replica_reads(_write_then_read))

    assert decisions == {"before": REPLICA, "after": DEFAULT_DB_ALIAS, "pinned": True}


def test_a_view_that_never_reads_its_writes_back_stays_on_the_replica() -> None:
    decisions = _decisions(replica_reads(own_writes_unread=True)(_write_then_read))

    assert decisions == {"before": REPLICA, "after": REPLICA, "pinned": True}


def test_unsafe_requests_never_read_from_the_replica() -> None:
    decisions = _decisions(replica_reads(_write_then_read), method="post")

    assert decisions == {"before": DEFAULT_DB_ALIAS, "after": DEFAULT_DB_ALIAS, "pinned": True}


def test_writes_go_to_the_primary_inside_a_marked_view() -> None:
    @replica_reads
    def view(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"write": router.db_for_write(Report)})

    assert _decisions(view)["write"] == DEFAULT_DB_ALIAS


def _write_then_read(request: HttpRequest) -> JsonResponse:
    before = router.db_for_read(Report)
    Category.objects.filter(pk=0).update(name="nothing")  # a write, through the router
    return JsonResponse({"before": before, "after": router.db_for_read(Report)})


def _decisions(view: Callable[[HttpRequest], JsonResponse], method: str = "get") -> Any:
    request = getattr(RequestFactory(), method)("/")
    response = replica.ReplicaPinMiddleware(view)(request)
    return {**json.loads(response.content), "pinned": PIN_COOKIE in response.cookies}


@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
def test_the_export_audits_on_the_primary_and_streams_rows_from_the_replica(
    tiny_city: TinyCity,
) -> None:
    replicate()  # the authorities and their staff
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)  # not replayed yet
    staff = Client()
    staff.force_login(tiny_city.west_staff)

    with reads() as (_, on_replica):
        csv = body(staff.get("/staff/export.csv")).decode()

    assert report.ref not in csv and csv.startswith("reference,")
    assert any("reports_report" in statement for statement in on_replica)
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 1


def test_staff_whose_membership_the_replica_lacks_get_their_statistics_from_the_primary(
    tiny_city: TinyCity,
) -> None:
    staff = Client()
    staff.force_login(tiny_city.west_staff)  # a membership the replica has not replayed

    with reads() as (primary, on_replica):
        response = staff.get("/staff/stats/")

    assert response.status_code == 200
    assert on_replica and any("reports_statsday" in q for q in primary)


# --- the map's cached tiles ------------------------------------------------------------------

MAP = "/map/reports.json?bbox=1.0,10.0,1.2,10.1&zoom=13&state="


def test_a_tile_changed_within_the_pin_window_is_computed_from_the_primary(
    tiny_city: TinyCity,
) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    mapdata.invalidate_all()  # a change now

    with reads() as (_, on_replica):
        answer = Client().get(MAP + "all").json()

    assert on_replica == []
    assert report.ref in str(answer)


def _map_changed_a_minute_ago(monkeypatch: pytest.MonkeyPatch) -> None:
    """The map's last change, and the versions of the tiles of MAP, a minute old."""
    real = map_tiles._now_ms
    monkeypatch.setattr(map_tiles, "_now_ms", lambda: real() - 60_000)
    cache.clear()  # the versions the filings gave the tiles too
    mapdata.invalidate_all()
    Client().get(MAP + "fixed")
    monkeypatch.setattr(map_tiles, "_now_ms", real)


def test_a_tile_unchanged_for_longer_is_computed_from_the_replica(
    tiny_city: TinyCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    _map_changed_a_minute_ago(monkeypatch)

    with reads() as (_, on_replica):
        answer = Client().get(MAP + "all").json()  # other filters: not cached yet

    assert any("GROUP BY" in statement for statement in on_replica)
    assert report.ref not in str(answer)  # the replica lacks it; it would, after a minute


# --- settings ------------------------------------------------------------------------------------


def test_database_replica_url_adds_the_alias_the_router_and_the_pin() -> None:
    script = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['replica']['NAME'], s.DATABASES['replica']['ENGINE'],"
        " s.DATABASE_ROUTERS, s.MIDDLEWARE[0], s.FIXPOINT_REPLICA_PIN_SECONDS)"
    )
    env = {
        **os.environ,
        "DATABASE_REPLICA_URL": "postgres://reader@replica.internal:5432/fixpoint",
        "DATABASE_REPLICA_PIN_SECONDS": "9",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip

    assert result.stdout.split() == [
        "fixpoint",
        "config.postgresql",
        "['config.replica.ReplicaRouter']",
        "config.replica.ReplicaPinMiddleware",
        "9",
    ]
