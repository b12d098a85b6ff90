"""config.inserts: an insert's SQL compiled once per shape, its values prepared per row exactly as
Django's compiler prepares them; the one-statement parent-and-child insert, and the insert that
skips a taken unique value without spoiling the transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import IdempotencyKey
from config import inserts
from reports.models import Report, ReportStateChange

AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def key_row(key: str, **fields: object) -> IdempotencyKey:
    values = {"scope": "client:1", "key": key, "fingerprint": "f" * 64, "status": 201}
    values |= {"content_type": "application/json", "body": b'{"id": 1}', "created_at": AT}
    return IdempotencyKey(**(values | fields))


def plain(params: tuple[object, ...]) -> list[object]:
    """Parameters as values: psycopg's wrappers (Binary, Int2) and SQLite's memoryviews compare
    by identity."""
    unwrapped = [getattr(p, "obj", p) for p in params]
    return [bytes(p) if isinstance(p, memoryview) else p for p in unwrapped]


def test_the_sql_is_compiled_once_and_the_values_are_what_djangos_compiler_sends(db):
    inserts._COMPILED.clear()
    pk = [IdempotencyKey._meta.pk]
    first = inserts._insert_sql(key_row("a"), "default", pk)
    odd = key_row("b", body=b"\x00\xff", content_type="text/plain; charset=utf-8", status=200)
    cached = inserts._insert_sql(odd, "default", pk)
    fresh = inserts._compiled(odd, inserts._fields(IdempotencyKey), "default", pk, None)

    assert len(inserts._COMPILED) == 1
    assert cached[0] == fresh[0] == first[0]
    assert plain(cached[1]) == plain(fresh[1])


def test_rows_inserted_through_the_cached_sql_read_back_as_given(db):
    for n, body in enumerate([b"", b"{}", bytes(range(256))]):
        row = key_row(f"k{n}", body=body)
        assert inserts.insert_unless_taken(row)
        stored = IdempotencyKey.objects.get(pk=row.pk)
        assert (bytes(stored.body), stored.created_at, stored.key) == (body, AT, f"k{n}")


def test_a_taken_unique_value_inserts_nothing_and_the_transaction_goes_on(db):
    assert inserts.insert_unless_taken(key_row("same"))
    with transaction.atomic():
        assert not inserts.insert_unless_taken(key_row("same", status=200))
        assert IdempotencyKey.objects.count() == 1  # still usable: no error was raised
    assert IdempotencyKey.objects.get().status == 201


@pytest.mark.skipif(not inserts.available(), reason="PostgreSQL's WITH ... INSERT")
def test_a_report_and_its_first_change_in_one_statement_read_back_as_given(tiny_city):
    for n in range(2):  # compiled, then from the cache
        report = Report(
            ref=f"INSERT{n}", title=f"Hole {n}", description="Deep", extra={"depth": n},
            category=tiny_city.pothole, authority=tiny_city.west, state="open",
            latitude=Decimal("10.050001"), longitude=Decimal("1.050002"),
            created_at=AT, updated_at=AT, confirmed_at=AT,
        )  # fmt: skip
        first = ReportStateChange(from_state="", to_state="open", created_at=AT)
        with CaptureQueriesContext(connection) as queries:
            inserts.insert_with_child(report, first, "report")

        assert len(queries.captured_queries) == 1
        stored = Report.objects.get(pk=report.pk)
        assert (stored.title, stored.extra, stored.ref) == (f"Hole {n}", {"depth": n}, report.ref)
        assert (stored.latitude, stored.longitude) == (10.050001, 1.050002)
        assert ReportStateChange.objects.get(pk=first.pk).report_id == report.pk
