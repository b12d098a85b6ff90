"""config.updates: rows updated each to its own values by one statement, as bulk_update would
leave them, only where the table's row still matches a condition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config import updates
from reports.models import Delivery, DeliveryStatus, Report
from tests import factories

AT = datetime(2026, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)
FIELDS = ["status", "remote_id", "sent_at", "claimed_at", "last_error"]


@pytest.fixture
def deliveries(tiny_city) -> list[Delivery]:
    reports = [factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(4)]
    rows = list(Delivery.objects.filter(report__in=reports).order_by("pk"))  # filing wrote them
    assert len(rows) == 4
    Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
        status=DeliveryStatus.SENDING, remote_id="", sent_at=None
    )
    Delivery.objects.filter(pk=rows[3].pk).update(status=DeliveryStatus.FAILED)  # staff's say
    return rows


def outcome(delivery: Delivery, n: int) -> Delivery:
    return Delivery(
        pk=delivery.pk,
        status=DeliveryStatus.SENT,
        remote_id=f"<{n}@example.org> \u2018quoted\u2019 'and' %s",  # what a parameter must survive
        sent_at=AT + timedelta(seconds=n),
        claimed_at=None,
        last_error="",
    )


def state(pks: list[int]) -> list[dict[str, Any]]:
    return list(Delivery.objects.filter(pk__in=pks).order_by("pk").values("pk", *FIELDS))


def test_each_row_gets_its_own_values_in_one_statement_where_the_condition_holds(deliveries):
    rows = [outcome(d, n) for n, d in enumerate(deliveries)]

    with CaptureQueriesContext(connection) as queries:
        updated = updates.update_each(
            Delivery, rows, FIELDS, where={"status": DeliveryStatus.SENDING}
        )

    assert updated == 3 and len(queries) == 1
    after = state([d.pk for d in deliveries])
    for n, row in enumerate(after[:3]):
        assert row == {"pk": deliveries[n].pk, **{f: getattr(rows[n], f) for f in FIELDS}}
    assert after[3]["status"] == DeliveryStatus.FAILED and after[3]["sent_at"] is None


def test_the_result_is_what_bulk_update_leaves(deliveries):
    pks = [d.pk for d in deliveries]
    rows = [outcome(d, n) for n, d in enumerate(deliveries)]
    Delivery.objects.filter(status=DeliveryStatus.SENDING).bulk_update(rows, FIELDS)
    by_django = state(pks)
    Delivery.objects.filter(pk__in=pks[:3]).update(
        status=DeliveryStatus.SENDING, remote_id="", sent_at=None
    )

    updates.update_each(Delivery, rows, FIELDS, where={"status": DeliveryStatus.SENDING})

    assert state(pks) == by_django


def test_a_condition_of_none_means_is_null_and_rows_not_in_the_table_are_left_out(tiny_city):
    first, stamped = (factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(2))
    Report.objects.filter(pk=stamped.pk).update(sent_at=AT)
    stamps = [Report(pk=pk, sent_at=AT + timedelta(hours=1)) for pk in (first.pk, stamped.pk, -5)]

    updated = updates.update_each(Report, stamps, ["sent_at"], where={"sent_at": None})

    assert updated == 1
    stamped_at = Report.objects.filter(pk__in=[first.pk, stamped.pk]).values_list("pk", "sent_at")
    assert dict(stamped_at) == {first.pk: AT + timedelta(hours=1), stamped.pk: AT}


def test_no_rows_is_no_statement(db):
    with CaptureQueriesContext(connection) as queries:
        assert updates.update_each(Report, [], ["sent_at"]) == 0

    assert len(queries) == 0


def test_an_old_sqlite_is_told_apart(monkeypatch):
    class Database:
        vendor = "sqlite"

    monkeypatch.setattr(updates.sqlite3, "sqlite_version_info", (3, 31, 1))
    assert not updates.joins_values(Database())
    monkeypatch.setattr(updates.sqlite3, "sqlite_version_info", (3, 33, 0))
    assert updates.joins_values(Database())


def test_a_database_without_update_from_values_gets_djangos_bulk_update(deliveries, monkeypatch):
    monkeypatch.setattr(updates, "joins_values", lambda connection: False)
    rows = [outcome(d, n) for n, d in enumerate(deliveries)]

    with CaptureQueriesContext(connection) as queries:
        updated = updates.update_each(
            Delivery, rows, FIELDS, where={"status": DeliveryStatus.SENDING}
        )

    assert updated == 3
    assert "CASE" in queries[0]["sql"]
    assert state([deliveries[0].pk])[0]["remote_id"] == rows[0].remote_id
