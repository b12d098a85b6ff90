"""The last line for an outage: a Redis or broker error that reaches a view's caller is a 503 with
`Retry-After`, in the shape of the part of the site that was asked, never an HTML 500.

Nothing in Fixpoint lets one through today: the cache answers from memory while Redis is away
(config.cache), tasks are queued through config.broker, and work after a commit cannot raise
(config.aftercommit). This catches what new code would let escape. Such an error raised inside a
service's transaction rolled that transaction back, so a 503 here means nothing was written and
the request may be sent again as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from django.http import HttpRequest, HttpResponse
from kombu.exceptions import OperationalError

from config.jsonapi import is_api_request, refusal

logger = logging.getLogger(__name__)

UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, OperationalError)
RETRY_AFTER_SECONDS = 30
MESSAGE = "A service this request needs is out of reach; nothing was saved. Try again shortly."


class ServiceUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UNAVAILABLE):
            return None
        logger.error("%s %s: %s", request.method, request.path, exception, exc_info=exception)
        response = unavailable_response(request)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """A program's request (API, Open311, the site's JSON) gets the 503 in its surface's error
    shape; a page plain text, since rendering the site's error page may need the database."""
    if is_api_request(request):
        return refusal(request, 503, MESSAGE, code="unavailable")
    return HttpResponse(MESSAGE, status=503, content_type="text/plain; charset=utf-8")
