"""The API's and Open311's JSON is encoded by orjson (config.renderers) and is byte for byte what
DRF's JSONRenderer writes: for every kind of value the answers hold, for what orjson cannot
encode (then the standard library does), and with an indent asked for."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

import pytest
from django.utils.translation import gettext_lazy, override
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rest_framework import renderers as drf
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from config import renderers

UTC = datetime.UTC
MADRID = datetime.timezone(datetime.timedelta(hours=1))

NAIVE = datetime.datetime(2026, 12, 6, 10, 0)  # noqa: DTZ001 (one without a zone too)
SERIALIZER: Any = None  # the answers' containers, as a serializer returns them
VALUES: list[Any] = [
    {"title": "Forat al carrer d'Aragó", "emoji": "🕳️", "quote": '"a" \\ b', "control": "\x00\x1f"},
    {"separators": "line\u2028paragraph\u2029end", "html": "</script><b>&amp;"},
    {"utc": datetime.datetime(2026, 12, 6, 10, 0, tzinfo=UTC)},
    {"micro": datetime.datetime(2026, 12, 6, 10, 0, 0, 123456, tzinfo=UTC)},
    {"madrid": datetime.datetime(2026, 12, 6, 11, 0, 0, 5, tzinfo=MADRID)},
    {"naive": NAIVE, "day": datetime.date(2026, 12, 6)},
    {"time": datetime.time(7, 30), "span": datetime.timedelta(hours=1, seconds=3)},
    {"money": decimal.Decimal("12.50"), "id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"lazy": gettext_lazy("Open"), "bytes": b"raw"},
    {"coordinates": [2.1734, 41.3851, 0.1, 1e16, 123456789.123, -0.0, 1 / 3]},
    {"ints": [0, -1, 2**63 - 1, -(2**63)], "flags": [True, False, None]},
    ReturnDict({"results": ReturnList([{"a": 1}], serializer=SERIALIZER)}, serializer=SERIALIZER),
    [("a", 1), ("b", [])],
    {"big": 2**70},  # beyond 64 bits: the standard library encodes it
    {1: "a key that is not text"},
    {},
    [],
    "text",
]


def drf_bytes(data: Any, media_type: str | None = None) -> bytes:
    return drf.JSONRenderer().render(data, media_type)


@pytest.mark.parametrize("data", VALUES)
def test_the_bytes_are_drfs(data: Any) -> None:
    assert renderers.JSONRenderer().render(data) == drf_bytes(data)
    assert renderers.dumps(data) == drf_bytes(data)


def test_a_translation_is_encoded_in_the_active_language() -> None:
    with override("ca"):
        assert renderers.dumps({"state": gettext_lazy("Open")}) == drf_bytes(
            {"state": gettext_lazy("Open")}
        )


def test_an_indent_asked_for_is_honoured_as_drf_does() -> None:
    data = {"a": [1, 2], "b": "c"}
    media_type = "application/json; indent=4"
    ours = renderers.JSONRenderer().render(data, media_type)
    assert ours == drf_bytes(data, media_type)
    assert b"\n    " in ours


def test_nothing_renders_as_an_empty_body() -> None:
    assert renderers.JSONRenderer().render(None) == b""


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_json_value_gives_drfs_bytes_or_at_least_its_value(data: Any) -> None:
    assume(data is not None)  # DRF renders None as no body: the test above
    ours = renderers.dumps(data)
    assert json.loads(ours) == json.loads(drf_bytes(data))
    if not _has_float_beyond_plain_notation(data):
        assert ours == drf_bytes(data)


def _has_float_beyond_plain_notation(data: Any) -> bool:
    # Python writes 1e-05 where orjson writes 1e-5: the same number, other characters.
    if isinstance(data, float):
        return "e" in repr(data)
    if isinstance(data, list):
        return any(_has_float_beyond_plain_notation(item) for item in data)
    if isinstance(data, dict):
        return any(_has_float_beyond_plain_notation(item) for item in data.values())
    return False
