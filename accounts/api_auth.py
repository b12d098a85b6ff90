"""API authentication: personal tokens for people, API keys for third-party programs."""

from __future__ import annotations

from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import get_adapter
from allauth.core.internal.ratelimit import parse_rates
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import (
    AnonRateThrottle,
    BaseThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

from config.cache import count_many

from .models import ApiClient
from .services import KeyCannotAct, KeyMayOnlyRead, api_client_authorize


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: <key>`. request.user is the client's user (or anonymous), request.auth the
    ApiClient.

    Whether the key may act is decided here, by the one rule Open311 uses too
    (services.api_client_authorize), for every method: a read key's write is refused before any
    permission, view or `@action` runs, so none of them can leave the check out."""

    header = "HTTP_X_API_KEY"

    def authenticate(self, request: Request) -> tuple[Any, ApiClient] | None:
        key = request.META.get(self.header, "")
        if not key:
            return None
        try:
            client = api_client_authorize(key, write=request.method not in SAFE_METHODS)
        except KeyCannotAct as exc:
            raise exceptions.AuthenticationFailed(exc.message) from None
        except KeyMayOnlyRead as exc:
            raise exceptions.PermissionDenied(exc.message) from None
        return client.user or AnonymousUser(), client

    def authenticate_header(self, request: Request) -> str:
        return "X-API-Key"


class CountingThrottle(SimpleRateThrottle):
    """One rate (DRF's scope and rate settings), counted per fixed window with one atomic
    increment in the cache by RequestRates, which counts every rate of a request at once.

    DRF's own throttles keep every request's time in one cache entry and rewrite it on every
    request: two round trips, and a value that grows with the rate (at the benchmark's rates a
    list of thousands of floats pickled both ways per request). A client may get up to twice
    the rate across a window boundary: the usual trade of counters (django-ratelimit's too)."""

    duration: int  # set by SimpleRateThrottle.__init__ from the rate
    num_requests: int

    def window(self, request: Request, view: Any) -> tuple[str, int, float] | None:
        """This request's counter key and expiry, and the seconds until the window ends; None
        if this rate does not apply to the request."""
        key = self.get_cache_key(request, view) if self.rate is not None else None
        if key is None:
            return None
        now = self.timer()
        window = int(now // self.duration)
        return f"{key}:{window}", self.duration, (window + 1) * self.duration - now


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


class RequestRates(BaseThrottle):
    """Every rate that applies to a request, counted in one cache round trip: per visitor's IP
    address, per signed-in account and per API key (a key acting for a user counts for both).
    One round trip instead of one per rate, since every API request pays for them."""

    rates: tuple[type[CountingThrottle], ...] = (
        VisitorRateThrottle,
        AccountRateThrottle,
        ClientRateThrottle,
    )
    wait_for = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        throttles = [rate() for rate in self.rates]
        windows = [(t, w) for t in throttles if (w := t.window(request, view)) is not None]
        if not windows:
            return True
        # At most one round trip on Redis (config.cache.Tally); counted in this process while
        # Redis is out of reach.
        counts = count_many(
            [(key, seconds + 1, t.num_requests) for t, (key, seconds, _left) in windows]
        )
        over = [w for (t, w), n in zip(windows, counts, strict=True) if n > t.num_requests]
        self.wait_for = max((window[2] for window in over), default=0.0)
        return not over

    def wait(self) -> float:
        return self.wait_for


class VisitorRates(RequestRates):
    """The per-IP rate alone: for endpoints anyone may call, such as the token view."""

    rates = (VisitorRateThrottle,)


class TokenCredentials(AuthTokenSerializer):
    """DRF's e-mail and password check for a personal token, made through django-allauth's
    adapter as the web login makes it: failures count under ACCOUNT_RATE_LIMITS["login_failed"]
    per account (and per IP address) in the same counters as the web login's, so guessing on
    either door locks both, and a right password spends nothing. A locked account is a 429."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context["request"]
        try:
            user = get_adapter(request).authenticate(
                request, email=attrs["username"], password=attrs["password"]
            )
        except forms.ValidationError:  # allauth's "too many login attempts"
            raise exceptions.Throttled(
                login_lockout_seconds(), _("Too many failed log-ins for this account.")
            ) from None
        if user is None:
            raise exceptions.ValidationError(
                _("Unable to log in with provided credentials."), code="authorization"
            )
        attrs["user"] = user
        return attrs


def login_lockout_seconds() -> int:
    """The longest window of the login_failed rates: what a locked account waits at most."""
    rates = parse_rates(account_settings.RATE_LIMITS.get("login_failed"))
    return int(max((rate.duration for rate in rates), default=60))


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents X-API-Key in the OpenAPI schema (drf-spectacular finds it by target_class)."""

    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}
