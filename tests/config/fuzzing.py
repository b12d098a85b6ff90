"""What tests/config/test_fuzz_routes.py needs: every URL pattern of the site, the parameters each
view reads (found by watching it read them, not from a list), and a corpus of nasty values.

Parameters are found by `RecordingMiddleware`, which gives each request a `request.GET` (and, for
a form POST, a `request.POST`) that notes every name the view asks for: `get`, `[]`, `getlist`,
`in`. Django forms, django-filter, DRF's `query_params` and plain views all ask that way, so a
parameter added to any view tomorrow is found and fuzzed without anyone listing it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.datastructures import MultiValueDict

READ_GET: set[str] = set()  # the query parameters the current request's view asked for
READ_POST: set[str] = set()  # and the form fields


class RecordingQueryDict(QueryDict):
    """A QueryDict that notes each name looked up in `sink` (copies too: same class)."""

    sink: set[str] = READ_GET

    def __getitem__(self, key: str) -> Any:
        self.sink.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.sink.add(key)
        return super().get(key, default)

    def getlist(self, key: str, default: Any = None) -> Any:
        self.sink.add(key)
        return super().getlist(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.sink.add(key)
        return super().__contains__(key)


class RecordingPost(RecordingQueryDict):
    sink = READ_POST


class RecordingMiddleware:
    """First in the chain during the fuzz test: swaps in recording GET and form POST data."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        READ_GET.clear()
        READ_POST.clear()
        encoding = request.encoding
        query = request.META.get("QUERY_STRING", "")
        request.GET = RecordingQueryDict(query, encoding=encoding)  # type: ignore[assignment]
        form = request.content_type == "application/x-www-form-urlencoded"
        if request.method == "POST" and form and not request.path.startswith("/api/"):
            request.POST = RecordingPost(request.body, encoding=encoding)  # type: ignore[assignment]
            request._files = MultiValueDict()  # type: ignore[attr-defined]  # as Django's loader
        return self.get_response(request)


# --- the routes --------------------------------------------------------------------------------

GROUP = re.compile(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)")
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass
class Route:
    """One URL pattern: its text with `{name}` where each path parameter goes."""

    template: str
    parameters: list[str]
    callback: Any
    name: str | None
    converters: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.template

    @property
    def code(self) -> Any:
        """What runs for this route: the same code reading the same name is one parameter (a
        DRF action, a view function, the admin's shared changelist for every model)."""
        callback = self.callback
        if hasattr(callback, "cls"):  # DRF
            return (callback.cls, tuple(sorted((getattr(callback, "actions", None) or {}).items())))
        if hasattr(callback, "view_class"):  # a class-based view
            return callback.view_class
        inner = inspect.unwrap(callback)
        return getattr(inner, "__func__", inner)

    @property
    def is_admin(self) -> bool:
        return self.template.startswith("/admin/")

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")

    def url(self, values: dict[str, str]) -> str:
        """The path with each parameter filled, percent-encoded like a browser would."""
        path = self.template
        for name in self.parameters:
            path = path.replace("{" + name + "}", quote(values[name], safe=""))
        return path


def routes() -> list[Route]:
    """Every URL pattern the site resolves, with its path parameters named."""
    found: list[Route] = []
    for template, callback, name in _walk(get_resolver().url_patterns, ""):
        parameters: list[str] = []
        converters: dict[str, str] = {}

        def named(match: re.Match[str], parameters: list[str] = parameters) -> str:
            parameters.append(match[1])
            return "{" + match[1] + "}"

        def converted(
            match: re.Match[str],
            parameters: list[str] = parameters,
            kinds: dict[str, str] = converters,
        ) -> str:
            parameters.append(match[2])
            kinds[match[2]] = match[1] or "str"
            return "{" + match[2] + "}"

        text = GROUP.sub(named, template)
        text = CONVERTER.sub(converted, text)
        text = text.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "")
        found.append(Route("/" + text, parameters, callback, name, converters))
    return found


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any, str | None]]:
    for pattern in patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            yield text, pattern.callback, pattern.name


# --- the nasty values --------------------------------------------------------------------------

CORPUS: list[str] = [
    # Unicode digits: str.isdigit() is true for "²", which int() refuses; int() takes "١٢"
    "²",
    "١٢",
    # NUL (refused before any view in a query; in a form body it is the form's business) and
    # other control characters
    "\x00",
    "\x01\r\n",
    # huge, infinite, not a number, negative, zero
    "99999999999999999999999",
    "9" * 5000,
    "1e400",
    "NaN",
    "-1",
    "0",
    # empty and overlong
    "",
    "x" * 20_000,
    # impossible or extreme dates, offsets PostgreSQL refuses, instants outside UTC's years
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "2026-01-01T00:00:00+99:99",
    "2026-01-01T00:00:00+20:41",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "Mars/Olympus_Mons",
    # lists and structures
    "nan,nan,nan,nan",
]
