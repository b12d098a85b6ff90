"""API authentication: personal tokens for people, API keys for third-party programs."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from .models import ApiClient, User
from .services import api_client_for_key


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: <key>`. request.user is the client's user (or anonymous), request.auth the
    ApiClient, so permissions can check the client's scope."""

    header = "HTTP_X_API_KEY"

    def authenticate(self, request: Request) -> tuple[Any, ApiClient] | None:
        key = request.META.get(self.header, "")
        if not key:
            return None
        client = api_client_for_key(key)
        if client is None:
            raise exceptions.AuthenticationFailed(_("Unknown or inactive API key."))
        user: User | Any = client.user
        if user is None:
            from django.contrib.auth.models import AnonymousUser

            user = AnonymousUser()
        return user, client

    def authenticate_header(self, request: Request) -> str:
        return "X-API-Key"


class CountingThrottle(SimpleRateThrottle):
    """Counts requests per fixed window with one atomic increment in the cache.

    DRF's own throttles keep every request's time in one cache entry and rewrite it on every
    request: two round trips, and a value that grows with the rate (at the benchmark's rates a
    list of thousands of floats pickled both ways per request). A client may get up to twice
    the rate across a window boundary: the usual trade of counters (django-ratelimit's too)."""

    wait_for: float = 0.0
    duration: int  # set by SimpleRateThrottle.__init__ from the rate
    num_requests: int

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.wait_for = (window + 1) * self.duration - now
        return _increment(f"{self.key}:{window}", self.duration) <= self.num_requests

    def wait(self) -> float:
        return self.wait_for


def _increment(key: str, timeout: int) -> int:
    client = getattr(cache, "_cache", None)  # Django's Redis backend keeps its client here
    if isinstance(client, RedisCacheClient):
        # INCR creates the key at 1; with the expiry in the same pipeline: one round trip.
        name = cache.make_and_validate_key(key)
        pipe = client.get_client(name, write=True).pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, timeout + 1)
        count, _ = pipe.execute()
        return int(count)
    cache.add(key, 0, timeout + 1)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between the two calls: this request opens the count again
        cache.set(key, 1, timeout + 1)
        return 1


class ClientRateThrottle(CountingThrottle):
    """Limits per API key (rate "client"), whoever the key acts for."""

    scope = "client"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class VisitorRateThrottle(CountingThrottle, AnonRateThrottle):
    """Limits per IP address for requests with neither an account nor an API key."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiClient):
            return None
        return super().get_cache_key(request, view)


class AccountRateThrottle(CountingThrottle, UserRateThrottle):
    """Limits per signed-in account. Visitors are counted by VisitorRateThrottle alone: DRF's
    own user throttle would count them by IP address a second time."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class WriteScope(BasePermission):
    """A read-only API key may not change anything, even if it acts for a user."""

    message = _("This API key is read-only.")

    def has_permission(self, request: Request, view: Any) -> bool:
        client = request.auth
        return (
            request.method in SAFE_METHODS
            or not isinstance(client, ApiClient)
            or (client.can_write)
        )


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents X-API-Key in the OpenAPI schema (drf-spectacular finds it by target_class)."""

    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}
