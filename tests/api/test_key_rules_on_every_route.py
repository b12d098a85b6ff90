"""Every route of the REST API, the game's API and Open311, found in the URLconf (not listed by
hand), is tried with every unsafe method by keys that may not write: a read-only key, a write key
whose account was deactivated, and a switched-off key. Each must be refused (403, or 401 for a
key that cannot act at all) and no row of any table may change. A new route or a new `@action`
is walked without anyone adding it here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern
from rest_framework.test import APIClient

from accounts.models import ApiClient, User
from accounts.services import api_client_create
from authorities.models import StaffRole
from reports import services
from tests import factories
from tests.conftest import TinyCity

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PREFIXES = ("api/", "open311/")


def routes(
    patterns: list[Any] | None = None, prefix: str = ""
) -> Iterator[tuple[str, list[str], Any]]:
    """Every route of the URLconf as (path with {name} slots, slot names, view)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        path = prefix + _template(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, path)
        else:
            yield path, re.findall(r"{(\w+)}", path), entry.callback


def _template(pattern: Any) -> str:
    """A path() or re_path() pattern with its parameters as {name}: the patterns here are
    plain enough (no nested groups) for this to hold, and _fill checks that each resolves."""
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern))
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern.regex.pattern)
    return text.lstrip("^").rstrip("$").replace("/?", "").replace("\\.", ".")


def walked() -> list[tuple[str, list[str], Any]]:
    return [route for route in routes() if route[0].startswith(PREFIXES)]


def test_the_walk_finds_the_routes_that_write(db: None) -> None:
    paths = {path for path, _, _ in walked()}

    assert "api/v1/reports/{pk}/priority/" in paths
    assert "api/v1/rewards/{pk}/redeem/" in paths
    assert "open311/v2/requests.{fmt}" in paths
    assert "open311/v2/servicerequestupdates.{fmt}" in paths


def _values(city: TinyCity) -> dict[tuple[str, str], Any]:
    """A real object for each route parameter, so that a route which wrongly let the key
    through would really write."""
    report = factories.report(city.pothole, *city.WEST, title="Their hole")
    reward = factories.RewardFactory.create(cost=1)
    return {
        ("reports", "pk"): report.pk,
        ("rewards", "pk"): reward.pk,
        ("categories", "slug"): city.pothole.slug,
        ("authorities", "slug"): city.west.slug,
        ("services", "service_code"): city.pothole.slug,
        ("service", "service_code"): city.pothole.slug,
        ("requests", "service_request_id"): report.ref,
        ("tokens", "token"): report.ref,
        ("", "format"): "json",
        ("v1", "format"): ".json",  # the API root's suffix converter takes the dot with it
        ("", "fmt"): "json",
    }


def _fill(route: tuple[str, list[str], Any], values: dict[tuple[str, str], Any]) -> str:
    path, params, view = route
    filled = {}
    for param in params:
        before = path.split(f"{{{param}}}")[0].rstrip("/.").rsplit("/", 1)[-1]
        value = values.get((before, param), values.get(("", param)))
        assert value is not None, f"teach this test a value for {param!r} in {path!r}"
        filled[param] = value
    url = "/" + path.format(**filled)
    assert resolve(url).func is view, f"{path!r} filled as {url!r} reaches another view"
    return url


def _body(city: TinyCity, colleague: User) -> dict[str, Any]:
    """Valid input for every write at once (each endpoint reads its own fields)."""
    return {
        # a report (API) and a service request (Open311), in the east district
        "title": "Hole",
        "description": "Deep",
        "category": city.pothole.slug,
        "latitude": city.EAST[0],
        "longitude": city.EAST[1],
        "service_code": city.pothole.slug,
        "lat": city.EAST[0],
        "long": city.EAST[1],
        # an update, a staff move, an assignment, a priority, a status from a council's system
        "text": "Still there",
        "state": "verified",
        "public_note": "Seen",
        "assignee": colleague.email,
        "priority": "urgent",
        "status": "INVESTIGATING",
        # the token view
        "username": colleague.email,
        "password": "pw-for-tests",
    }


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (a key's last use is bookkeeping, not a change)."""
    rows = {}
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        fields = [f.attname for f in model._meta.concrete_fields]
        if model is ApiClient:
            fields.remove("last_used_at")
        rows[model._meta.label] = list(model._default_manager.order_by("pk").values_list(*fields))
    return rows


@pytest.fixture
def keys(tiny_city: TinyCity) -> dict[str, tuple[str, set[int], set[int]]]:
    """Each kind of key that may not write, with the statuses the API and Open311 answer it.
    Each acts for an administrator of the report's authority with points to spend, so that
    nothing but the key's own rule stands in the way of a write."""
    reader = factories.staff(tiny_city.west, role=StaffRole.ADMINISTRATOR, password="pw-for-tests")
    leaver = factories.staff(tiny_city.west, role=StaffRole.ADMINISTRATOR)
    for user in (reader, leaver):
        earned = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=user)
        services.report_transition(
            report_id=earned.pk, to_state="verified", actor=tiny_city.west_staff
        )
    read = api_client_create(name="reader", scope="read", user=reader)[1]
    inactive_user = api_client_create(name="leaver's app", scope="write", user=leaver)[1]
    off_client, switched_off = api_client_create(name="revoked", scope="write", user=reader)
    User.objects.filter(pk=leaver.pk).update(is_active=False)
    ApiClient.objects.filter(pk=off_client.pk).update(is_active=False)
    return {
        "read-only key": (read, {403}, {403}),
        "inactive user's write key": (inactive_user, {401}, {403}),
        "switched-off write key": (switched_off, {401}, {403}),
    }


def test_keys_that_may_not_write_are_refused_on_every_unsafe_route_and_change_nothing(
    tiny_city: TinyCity, keys: dict[str, tuple[str, set[int], set[int]]]
) -> None:
    values = _values(tiny_city)
    body = _body(tiny_city, factories.staff(tiny_city.west))
    paths = sorted({_fill(route, values) for route in walked()})
    before = _snapshot()
    wrong = []
    for kind, (key, api_statuses, open311_statuses) in keys.items():
        api = APIClient(raise_request_exception=False)
        browser = Client(raise_request_exception=False)
        for path in paths:
            for method in UNSAFE:
                if path.startswith("/open311/"):
                    # Open311 takes the key as a parameter; only POST has a form body.
                    url = f"{path}?{urlencode({'api_key': key})}"
                    send = getattr(browser, method.lower())
                    response = send(url, body) if method == "POST" else send(url)
                    expected = open311_statuses
                else:
                    send = getattr(api, method.lower())
                    response = send(path, body, format="json", HTTP_X_API_KEY=key)
                    expected = api_statuses
                if response.status_code not in expected:
                    wrong.append(f"{kind}: {method} {path} -> {response.status_code}")

    assert not wrong, "\n".join(wrong)
    assert _snapshot() == before
    assert len(paths) > 30  # the walk found the routes (34 since the API lost its .json twins)
