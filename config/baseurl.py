"""The site's own address for links that leave a request (e-mails, webhooks, user agents).

`BASE_URL` when it is set (production should set it). Unset, the address the current request
came in on, so that `make run` on another port or host sends confirmation links that work; a
worker with no request falls back to http://127.0.0.1:8000. The request's host has passed
ALLOWED_HOSTS by then (Django's get_host), so it cannot be any name a client sends.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

FALLBACK = "http://127.0.0.1:8000"
_from_request: ContextVar[str] = ContextVar("fixpoint_request_base_url", default="")


def base_url() -> str:
    """No trailing slash."""
    return settings.FIXPOINT_BASE_URL or _from_request.get() or FALLBACK


class RequestBaseUrlMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.FIXPOINT_BASE_URL:
            return self.get_response(request)
        token = _from_request.set(request.build_absolute_uri("/").rstrip("/"))
        try:
            return self.get_response(request)
        finally:
            _from_request.reset(token)
