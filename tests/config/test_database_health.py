"""Persistent PostgreSQL connections that the server dropped are replaced before a request uses
them (config.postgresql: the health check asks the socket first, and the server when in doubt)."""

from __future__ import annotations

import time
import zoneinfo
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import Client

from reports.models import Report
from tests import factories

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's health check"),
    pytest.mark.django_db(transaction=True),  # a real persistent connection, no test transaction
]


def _terminate_from_outside(pid: int) -> None:
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_request_after_the_server_dropped_the_connection_is_answered(tiny_city, settings):
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client = Client()
    assert client.get(f"/api/v1/reports/{report.pk}/").status_code == 200
    old_pid = connection.connection.info.backend_pid

    _terminate_from_outside(old_pid)  # as a restart or an idle timeout on the server would
    time.sleep(0.2)  # the server's goodbye reaches the socket
    close_old_connections()  # what request_started does (Django's test client leaves it out)

    assert client.get(f"/api/v1/reports/{report.pk}/").status_code == 200
    assert connection.connection.info.backend_pid != old_pid
    assert Report.objects.count() == 1


def test_a_live_idle_connection_is_judged_usable_without_a_query(db, monkeypatch):
    Client().get("/api/v1/categories/")
    asked = []
    real_cursor = connection.connection.cursor
    monkeypatch.setattr(
        connection.connection, "cursor", lambda *a, **k: asked.append(1) or real_cursor(*a, **k)
    )

    assert connection.is_usable()
    assert asked == []


def _prepared(pattern: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [pattern]
        )
        return int(cursor.fetchone()[0])


BY_REF = '%FROM "reports_report"%"reports_report"."ref" = $%'
BBOX = '%"reports_report"."latitude" >= $%'


def test_fixed_statements_are_planned_once_and_varied_reads_every_time(tiny_city, settings):
    """An Open311 lookup by id (SQL compiled once) is prepared by the server on its first run,
    then neither parsed nor planned again; a list by bounding box is planned for its values
    every time (a generic plan for it scanned a whole band of latitude)."""
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client = Client()
    for _ in range(6):
        assert client.get(f"/open311/v2/requests/{report.ref}.json").status_code == 200
        listed = client.get("/api/v1/reports/", {"bbox": "1.0,10.0,1.1,10.1"})
        assert listed.status_code == 200 and listed.json()["results"]

    assert _prepared(BY_REF) == 1
    assert _prepared(BBOX) == 0
    assert client.get(f"/open311/v2/requests/{report.ref}.json").json()[0]["title"] == "Pothole"


def test_without_prepared_statements_nothing_is_prepared(tiny_city, settings):
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    settings.FIXPOINT_PREPARED_STATEMENTS = False  # DATABASE_PREPARED_STATEMENTS=false
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    connection.close()  # a new connection, with nothing prepared yet

    for _ in range(6):
        assert Client().get(f"/open311/v2/requests/{report.ref}.json").status_code == 200

    assert _prepared("%") == 0


def test_timestamps_are_read_back_exactly_and_in_utc(tiny_city):
    """config.postgresql reads timestamptz with psycopg's compiled loader instead of Django's
    Python one: the same values, to the microsecond, with Django's UTC tzinfo."""
    madrid = zoneinfo.ZoneInfo("Europe/Madrid")
    moments = [
        datetime(2026, 3, 29, 2, 30, 0, 123456, tzinfo=UTC),  # the hour Madrid skips
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=madrid),
        datetime(2026, 10, 25, 2, 30, 0, 1, tzinfo=madrid),  # an hour Madrid has twice
    ]
    for moment in moments:
        report = factories.report(tiny_city.pothole, *tiny_city.WEST, at=moment)
        stored = Report.objects.values_list("created_at", flat=True).get(pk=report.pk)
        assert stored == moment.astimezone(UTC) and stored.tzinfo is UTC
        assert stored.utcoffset() == timedelta(0)
