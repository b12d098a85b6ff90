"""The API's parsers: DRF's, with a limit on how deep a JSON body may nest."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers

# No body of this API nests deeper than a report's answers (4 levels); 32 leaves room and keeps
# every later step (validation, storing a JSONField, rendering) far from Python's recursion limit.
MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing (400, in the error shape) a body nested deeper than
    MAX_JSON_DEPTH: a body nested thousands deep made the decoder raise RecursionError, an HTML
    500 page. The default parser of every API view (settings.REST_FRAMEWORK)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if _deeper_than(data, MAX_JSON_DEPTH):
            raise _too_deep()
        return data


def _too_deep() -> exceptions.ParseError:
    return exceptions.ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` levels, walked without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
