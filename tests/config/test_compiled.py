"""config.compiled: a JSON column read through SQL compiled once decodes (by orjson) to what the
ORM's own JSONField gives, including what orjson refuses and Django decodes; an IN list padded
to a power of two asks for exactly what the unpadded one asks for."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db.models import QuerySet
from hypothesis import given, settings
from hypothesis import strategies as st

from config.compiled import CompiledForIds, CompiledQuery, _json_loads, padded, padded_size
from reports.models import Report
from tests import factories


def _extra_of(pk: int) -> QuerySet[Report, dict[str, Any]]:
    return Report.objects.filter(pk=pk).values(*["extra"])


EXTRA = CompiledQuery(_extra_of, -1)


def faster_loads(text: str) -> object:
    return _json_loads(Report._meta.get_field("extra").from_db_value)(text, None, None)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"depth": "10 cm", "where": "Plaça de Catalunya", "n": [1, 2.5, None, True, False]},
        {"huge": 10**30, "nested": {"a": {"b": [{"c": "\u00e9\u4e2d\U0001f600"}]}}},
        {"exact": 2**63 + 1, "negative": -(2**64), "fine": 0.1 + 0.2, "code": "1234567890123456"},
        ["a list", 1],
        "just text",
    ],
)
def test_a_json_column_reads_as_the_orm_reads_it(tiny_city, extra):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    Report.objects.filter(pk=report.pk).update(extra=extra)

    [row] = EXTRA.run(report.pk)

    assert row["extra"] == Report.objects.get(pk=report.pk).extra == extra


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(ANY_JSON)
def test_any_json_text_decodes_as_djangos_json_field_decodes_it(value):
    text = json.dumps(value)
    field = Report._meta.get_field("extra")
    expected = field.from_db_value(text, None, None)

    assert faster_loads(text) == expected
    assert repr(faster_loads(text)) == repr(expected)  # 1 stays 1, not 1.0


@given(st.lists(st.integers(), min_size=1, max_size=300))
def test_a_padded_list_is_a_power_of_two_long_and_holds_the_same_values(values):
    longer = padded(values)
    assert len(longer) == padded_size(len(values))
    assert len(values) <= len(longer) < 2 * len(values)
    assert len(longer) & (len(longer) - 1) == 0  # a power of two
    assert longer[: len(values)] == values and set(longer) == set(values)


def _refs_of(*pks: int) -> QuerySet[Report, Any]:
    return Report.objects.filter(pk__in=pks).order_by("pk").values("ref")


@pytest.mark.django_db
def test_a_query_compiled_for_a_padded_size_finds_each_row_once(tiny_city):
    reports = [factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(3)]
    factories.report(tiny_city.pothole, *tiny_city.WEST)  # not asked for
    by_ids = CompiledForIds(_refs_of)

    rows = by_ids.run([r.pk for r in reports])

    assert rows == [{"ref": r.ref} for r in sorted(reports, key=lambda r: r.pk)]
    assert by_ids.run([reports[0].pk, reports[1].pk, reports[2].pk, reports[2].pk]) == rows
    assert list(by_ids._by_size) == [4]  # three ids and four: one shape
    assert by_ids.run([]) == []
