"""What the three JSON surfaces share: one error body, one way to refuse, absolute links.

The surfaces are the site's own JSON (`*.json`, for its pages' JavaScript), the REST API
(`/api/`) and Open311 (`/open311/`). For the same fault they answer the same status (the table
in docs/api.md, walked by tests/api/test_same_fault_same_answer.py):

- the status comes from the error raised (`ApplicationError.status`: 400 for a bad parameter,
  422 for a point nobody covers, ...), never from the surface that caught it;
- the body is `{"error": {"code", "message", "fields"?, ...}}` (`error_body`), except on Open311,
  which keeps the GeoReport v2 list of errors its clients parse (its shape is registered in
  `ERROR_SHAPES` by reports.apps);
- a wrong method is a 405 with `Allow`, an unknown address a 404, both in the surface's shape.

The REST API's views raise and DRF's exception handler (config.api) answers; the site's JSON
views are wrapped in `endpoint()`; Open311's views in their own decorator, which uses
`refusal()` too. Links in answers are made by `absolute_url()`, which honours
`FIXPOINT_PUBLIC_URL` when the site is reached under another name than the one it serves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found

from config.baseurl import base_url
from config.errors import ApplicationError

NOTHING_HERE = "There is nothing at this address."
# The code of an error that has none more specific, by status.
CODES = {400: "invalid", 404: "not_found", 405: "method_not_allowed", 422: "unprocessable"}

# A surface with an error format of its own (Open311) registers a function that answers for the
# requests it serves and None for the others.
ErrorShape = Callable[[HttpRequest, int, str], HttpResponse | None]
ERROR_SHAPES: list[ErrorShape] = []


def error_body(
    code: str, message: str, *, fields: dict[str, list[str]] | None = None, **extra: Any
) -> dict[str, Any]:
    """The one error body: `{"error": {"code", "message", "fields"?, ...}}`; `extra` holds what
    an error adds of its own (the `allowed` moves of an invalid transition, ...)."""
    error: dict[str, Any] = {"code": code, "message": message, **extra}
    if fields:
        error["fields"] = fields
    return {"error": error}


def is_api_request(request: HttpRequest) -> bool:
    """Whether a program asked (the API, Open311, the site's JSON): answered in JSON, not pages."""
    path = request.path
    return path.startswith(("/api/", "/open311/")) or path.endswith(".json")


def refusal(
    request: HttpRequest,
    status: int,
    message: str,
    fields: dict[str, list[str]] | None = None,
    *,
    code: str | None = None,
    extra: dict[str, Any] | None = None,
    allow: Iterable[str] = (),
) -> HttpResponse:
    """A 4xx for `request` in its surface's shape: a registered one (Open311), the error body
    for the API and the site's JSON, else a page. `allow` (a 405's methods) becomes `Allow`."""
    response = _shaped(request, status, message, fields, code, extra or {})
    if allow:
        response["Allow"] = ", ".join(allow)
    return response


def _shaped(
    request: HttpRequest,
    status: int,
    message: str,
    fields: dict[str, list[str]] | None,
    code: str | None,
    extra: dict[str, Any],
) -> HttpResponse:
    for shape in ERROR_SHAPES:
        answer = shape(request, status, message)
        if answer is not None:
            return answer
    if is_api_request(request):
        body = error_body(code or CODES.get(status, "error"), message, fields=fields, **extra)
        return JsonResponse(body, status=status)
    if status == 404:
        return page_not_found(request, ApplicationError(message))
    return render(request, "400.html", {"message": message}, status=status)


def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """An ApplicationError answered with its own status and code, in the surface's shape."""
    extra = dict(exc.extra)
    fields = cast("dict[str, list[str]] | None", extra.pop("fields", None))
    return refusal(request, exc.status, exc.message, fields, code=exc.code, extra=extra)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a program's unknown address answers in its surface's shape, a page's with
    the site's page."""
    if is_api_request(request):
        return refusal(request, 404, NOTHING_HERE)
    return page_not_found(request, exception)


def method_not_allowed(request: HttpRequest, allowed: Iterable[str]) -> HttpResponse:
    allowed = tuple(allowed)
    message = f"{request.method} is not allowed here: use {' or '.join(allowed)}."
    return refusal(request, 405, message, allow=allowed)


View = Callable[..., HttpResponse]


def endpoint(*methods: str) -> Callable[[View], View]:
    """A site JSON view taking `methods`: any other is a 405 with `Allow`, and an
    ApplicationError it raises is answered with the error's status in the one error body."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return method_not_allowed(request, methods)
            try:
                return view(request, *args, **kwargs)
            except ApplicationError as exc:
                return application_error(request, exc)

        return wrapper

    return decorate


def absolute_url(request: HttpRequest | None, location: str) -> str:
    """`location` (a path, or already a whole URL) as a whole URL: under FIXPOINT_PUBLIC_URL when
    it is set (the address people use, whatever host the request came in by), else under the
    request's own scheme and host; without a request, under config.baseurl's address
    (BASE_URL, else the current request's, else the local default)."""
    if location.startswith(("http://", "https://")):
        return location
    if request is not None and not settings.FIXPOINT_PUBLIC_URL:
        return request.build_absolute_uri(location)
    base = settings.FIXPOINT_PUBLIC_URL or base_url()
    return f"{base}/{location.lstrip('/')}"
