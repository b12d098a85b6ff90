"""JSON for the API's and Open311's answers, encoded by orjson (C) instead of the standard
library's encoder, byte for byte what DRF's JSONRenderer writes.

Why: encoding was the largest single cost of the public lists after their queries (issue 18):
0.43 ms of a bbox page of 50 reports and 0.81 ms of an Open311 page of 100 in one process,
against 0.04 ms with orjson (docs/benchmarks.md). The rules stay DRF's: compact, UTF-8 without
\\u escapes, U+2028 and U+2029 escaped (JavaScript reads them as line ends), and every type JSON
lacks (datetimes, dates, Decimals, lazy translations) converted by DRF's own encoder, which
orjson calls for them (datetimes are passed to it rather than written in orjson's own format).
Anything orjson refuses (an integer beyond 64 bits, a key that is not text) is encoded by the
standard library as before; so is an answer asked for with an indent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_DRF = JSONEncoder()  # its default() turns what JSON lacks into JSON, as DRF's renderer does
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LINE_ENDS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def dumps(data: Any) -> bytes:
    """``data`` as compact UTF-8 JSON, the bytes DRF's JSONRenderer gives."""
    try:
        body = orjson.dumps(data, default=_DRF.default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return renderers.JSONRenderer().render(data)
    if b"\xe2\x80" in body:  # cheap test first: the separators are rare
        for raw, escaped in _LINE_ENDS:
            body = body.replace(raw, escaped)
    return body


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer with orjson doing the encoding (see the module)."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        context = dict(renderer_context or {})
        if self.get_indent(accepted_media_type or "", context):
            return super().render(data, accepted_media_type, context)
        return dumps(data)
