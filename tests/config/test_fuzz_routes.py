"""Every URL pattern of the site, every parameter its view reads, every nasty value: never a 5xx.

The class of bug behind issue 13's finding 6: a parameter that some view parses by hand (a
Unicode digit, an infinite number, an offset of +99:99, a NUL) and that reaches Python or the
database unchecked. This test walks the URLconf (pages, the site's JSON, staff pages signed in as
staff, Open311, the API, allauth and the admin as a superuser), fills path parameters with real
ids, refs and slugs and then with the nasty values, finds the query (and form) parameters each
view reads by watching it read them (tests/config/fuzzing.py), and sends each parameter each value
of the corpus with the others valid. Form POSTs of the site's own pages and Open311 are fuzzed the
same way; the API's bodies are schemathesis's (tests/api/test_schema_conformance.py). Responses
in XML (Open311) must also parse.

A parameter is a name read by a piece of view code: routes that run the same code (the admin's
changelist of every model) are fuzzed once. Every parameter gets every value; a sample of further
combinations (a value with only what the view needed to read it, every parameter the same value)
keeps the run near a minute on two cores.
"""

from __future__ import annotations

import logging
import os
import random
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from django.core.cache import cache
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import Resolver404, resolve

from accounts.models import ApiScope, User
from accounts.services import api_client_create
from authorities.models import StaffRole
from gamification.models import Player
from tests import factories
from tests.config.fuzzing import CORPUS, READ_GET, READ_POST, Route, routes
from tests.conftest import TinyCity

ROUTES = routes()
# Besides every parameter x every value, this share of further combinations is tried, chosen by
# SEED (printed with any failure; FIXPOINT_FUZZ_SEED=<seed> repeats a run, FIXPOINT_FUZZ_SAMPLE=1
# tries them all, which takes about twice as long). Open311's XML twins of its JSON routes run
# the same code: their parameters are in the sample too.
SAMPLE = float(os.environ.get("FIXPOINT_FUZZ_SAMPLE", "0.2"))
SEED = int(os.environ.get("FIXPOINT_FUZZ_SEED", str(random.randrange(10**6))))
# Parameters every request carries for the fuzz's own purposes, not read by any view.
PROBE = "_fuzz_probe"


@dataclass
class World:
    city: TinyCity
    staff: User
    superuser: User
    ref: str
    report_id: int
    reward_id: int
    citizen_id: int
    area_slug: str
    write_key: str


@pytest.fixture
def world(tiny_city: TinyCity) -> World:
    area = factories.area("Old Town", factories.square(1.0, 10.0, 0.05), authority=tiny_city.west)
    citizen = factories.UserFactory.create()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=citizen)
    factories.report(tiny_city.bins, *tiny_city.EAST)
    staff = factories.staff(tiny_city.west, role=StaffRole.ADMINISTRATOR)
    superuser = factories.UserFactory.create(is_staff=True, is_superuser=True)
    reward = factories.RewardFactory.create()
    factories.ChallengeFactory.create()
    Player.objects.update_or_create(
        pk=citizen.pk, defaults={"board_name": "Cit", "is_public": True}
    )
    write_key = api_client_create(name="Fuzz", scope=ApiScope.WRITE, user=citizen)[1]
    return World(
        tiny_city,
        staff,
        superuser,
        report.ref,
        report.pk,
        reward.pk,
        citizen.pk,
        area.slug,
        write_key,
    )


# --- what a valid value is, per parameter name (only to reach deeper code) -----------------------

ValidValue = str | Callable[[World, Route], str]

VALID: dict[str, ValidValue] = {
    "bbox": "0.9,9.9,1.3,10.3",
    "zoom": "14",
    "lat": "10.05",
    "lon": "1.05",
    "long": "1.05",
    "latitude": "10.05",
    "longitude": "1.05",
    "near": "10.05,1.05",
    "radius": "500",
    "category": lambda w, r: str(w.city.pothole.pk) if r.key.startswith("/staff/") else "pothole",
    "service_code": "pothole",
    "service_request_id": lambda w, r: w.ref,
    "state": "open",
    "status": "open",
    "q": "hole",
    "sort": "nearest",
    "age": "7",
    "page": "1",
    "page_size": "10",
    "start_date": "2026-01-01T00:00:00Z",
    "end_date": "2026-02-01T00:00:00Z",
    "updated_after": "2026-01-01T00:00:00Z",
    "updated_before": "2026-02-01T00:00:00Z",
    "created_since": "2026-01-01T00:00:00Z",
    "created_until": "2026-02-01T00:00:00Z",
    "updated_since": "2026-01-01T00:00:00Z",
    "updated_until": "2026-02-01T00:00:00Z",
    "created_after": "2026-01-01",
    "created_before": "2026-02-01",
    "date_from": "2026-01-01",
    "date_to": "2026-01-31",
    "preset": "30d",
    "period": "week",
    "area": lambda w, r: w.area_slug if not r.key.startswith("/staff/") else "",
    "authority": lambda w, r: (
        str(w.city.west.pk) if r.key.startswith("/staff/") else w.city.west.slug
    ),
    "api_key": lambda w, r: w.write_key,
    "jurisdiction_id": "fixpoint",
    "description": "A deep hole by the fountain.",
    "title": "Hole",
    "text": "Still there.",
    "email": "someone@example.org",
    "reports": lambda w, r: str(w.report_id),
    "action": lambda w, r: "transition" if r.key.startswith("/staff/reports/") else "verify",
    "to_state": "verified",
    "public_note": "On it.",
    "internal_note": "Crew B.",
    "ordering": "-created_at",
    "boundary": "1",
    "format": "json",
}


def valid(world: World, route: Route, name: str) -> str:
    value = VALID.get(name, "1")
    return value(world, route) if callable(value) else value


def path_candidates(world: World, route: Route, name: str) -> list[str]:
    """Real values for a path parameter, most likely first (a route picks the first that
    resolves and is not a 404)."""
    model_admin = getattr(route.callback, "model_admin", None)
    if model_admin is not None and name in ("object_id", "id"):
        first = model_admin.model._default_manager.order_by("pk").values_list("pk", flat=True)
        return [str(first.first() or 1)]
    return {
        "ref": [world.ref],
        "service_request_id": [world.ref],
        "token": [world.ref, "abc"],
        "pk": [str(world.report_id), str(world.reward_id)],
        "slug": ["pothole", world.city.west.slug],
        "service_code": ["pothole"],
        "reward_id": [str(world.reward_id)],
        "user_id": [str(world.citizen_id)],
        "fmt": ["json", "xml"],
        "format": ["json", ".json"],
        "content_type_id": ["1"],
    }.get(name, ["1", "x"])


# --- the fuzzer ----------------------------------------------------------------------------------


class QuickClient(Client):
    """The test client without its record of every template rendered: it copies the context
    of each widget's template, and that was most of a staff page's time here."""

    def request(self, **request: Any) -> Any:
        response = self.handler(self._base_environ(**request))  # type: ignore[attr-defined]
        if response.cookies:
            self.cookies.update(response.cookies)
        return response


class Fuzzer:
    """Sends the requests and keeps the 5xx. Each parameter (a name read by a piece of view
    code, for one method) and each path parameter is fuzzed once, on the first route that runs
    that code: the admin's changelist of every model, or a route and its `.json` twin, share it."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.client = QuickClient()
        self.failures: list[str] = []
        self.failing: set[tuple[str, str, str]] = set()
        self.failed = 0
        self.requests = 0
        self.done: set[tuple[Any, ...]] = set()
        self.rng = random.Random(SEED)
        self.last_error = ""
        got_request_exception.connect(self._note_exception, weak=False)

    def close(self) -> None:
        got_request_exception.disconnect(self._note_exception)

    def _note_exception(self, **_: Any) -> None:
        self.last_error = traceback.format_exc(limit=-3).strip().splitlines()[-1]

    def request(self, method: str, url: str, data: dict[str, str]) -> int:
        return self.send(method, url, data).status_code

    def send(self, method: str, url: str, data: dict[str, str]) -> Any:
        self.requests += 1
        self.last_error = ""
        if method == "GET":
            return self.client.get(url, {PROBE: "1", **data})
        # The probe in the query makes request.GET non-empty, so `Form(request.GET or None)`
        # binds; form fields go urlencoded, as a browser sends a form without files (the probe
        # in the body too: the test client sends an empty body without a content type).
        body = urlencode({PROBE: "1", **data})
        return self.client.post(
            f"{url}?{PROBE}=1", body, content_type="application/x-www-form-urlencoded"
        )

    def check(self, method: str, url: str, data: dict[str, str], what: str) -> None:
        response = self.send(method, url, data)
        if response.status_code >= 500:
            self.fail(method, url, what, f"{response.status_code} {self.last_error}")
        elif response.get("Content-Type", "").startswith("text/xml"):
            try:
                ElementTree.fromstring(response.content)  # noqa: S314 (our own answer)
            except ElementTree.ParseError as exc:
                self.fail(method, url, what, f"invalid XML ({exc})")

    def fail(self, method: str, url: str, what: str, why: str) -> None:
        """Keeps the first failure of each parameter (the others only count)."""
        self.failed += 1
        key = (method, url, what.split("=")[0])
        if key not in self.failing:
            self.failing.add(key)
            self.failures.append(f"{method} {url} {what}: {why[:300]}")

    def first_time(self, *key: Any) -> bool:
        if key in self.done:
            return False
        self.done.add(key)
        return True

    def fuzz(self, route: Route) -> None:
        if not self.first_time(route.code):
            return  # another route runs the same code (the admin's views for each model)
        self.client.force_login(self.world.superuser if route.is_admin else self.world.staff)
        for fill in self.fills(route):
            url = route.url(fill)
            for method in self.methods(route, url):
                self.fuzz_parameters(route, method, url, self.discover(route, method, url))
            self.fuzz_path(route, fill)

    def fills(self, route: Route) -> Iterator[dict[str, str]]:
        """Real path values, the first of each that resolves and is not a 404 (both formats
        of an Open311 route)."""
        choices = {name: path_candidates(self.world, route, name) for name in route.parameters}
        formats = choices.pop("fmt", [""])
        for fmt in formats:
            fill = {name: values[0] for name, values in choices.items()}
            if fmt:
                fill["fmt"] = fmt
            for name, values in choices.items():
                for value in values:
                    candidate = {**fill, name: value}
                    url = route.url(candidate)
                    if self.resolves(route, url) and self.request("GET", url, {}) != 404:
                        fill = candidate
                        break
            if self.resolves(route, route.url(fill)):
                yield fill

    @staticmethod
    def resolves(route: Route, url: str) -> bool:
        try:
            return resolve(url).func is route.callback
        except Resolver404:
            return False

    def methods(self, route: Route, url: str) -> list[str]:
        if route.is_api or route.is_admin:
            return ["GET"]  # the API's bodies are schemathesis's; the admin's forms Django's
        return ["GET", "POST"] if self.request("POST", url, {}) != 405 else ["GET"]

    def discover(self, route: Route, method: str, url: str) -> list[list[str]]:
        """The parameters the view reads (a POST's: its form fields), by rounds: each round
        gives the names found so far valid values, so the view reads further (a sort after a
        valid bbox). Three rounds at most."""
        sink = READ_GET if method == "GET" else READ_POST
        data: dict[str, str] = {}
        rounds: list[list[str]] = []
        for _ in range(3):
            self.check(method, url, data, "with valid values")
            found = sorted(sink - {PROBE, "csrfmiddlewaretoken"} - set(data))
            if not found:
                break
            rounds.append(found)
            data.update({name: valid(self.world, route, name) for name in found})
        return rounds

    def fuzz_parameters(self, route: Route, method: str, url: str, rounds: list[list[str]]) -> None:
        """Each parameter gets each value with every other parameter valid (the deepest path).
        A sample also gets it with only what the view needed to read it (a valid id list in
        Open311 makes it ignore every filter), and every parameter the same value at once (a
        period whose both ends are 9999-12-31)."""
        names = [name for found in rounds for name in found]
        full = {name: valid(self.world, route, name) for name in names}
        xml = url.endswith(".xml")
        for depth, found in enumerate(rounds):
            needed = {name: full[name] for earlier in rounds[:depth] for name in earlier}
            for name in found:
                if not self.first_time(route.code, method, name, xml):
                    continue
                cache.clear()  # rate limits would answer 429 before the view parses anything
                for value in CORPUS:
                    what = f"{name}={value[:30]!r}"
                    if not xml or self.sampled():  # the XML twin runs the JSON one's code
                        self.check(method, url, {**full, name: value}, what)
                    if needed != full and self.sampled():
                        self.check(method, url, {**needed, name: value}, what + " alone")
        if len(names) > 1 and self.first_time(route.code, method, "*", xml):
            for value in CORPUS:
                if self.sampled():
                    self.check(method, url, dict.fromkeys(names, value), f"all={value[:30]!r}")

    def sampled(self) -> bool:
        return self.rng.random() < SAMPLE

    def fuzz_path(self, route: Route, fill: dict[str, str]) -> None:
        for name in route.parameters:
            if not self.first_time(route.code, "path", name):
                continue
            cache.clear()
            for value in CORPUS:
                url = route.url({**fill, name: value})
                if self.resolves(route, url):
                    self.check("GET", url, {}, f"path {name}={value[:30]!r}")


# --- the tests -----------------------------------------------------------------------------------

GROUPS: dict[str, Callable[[Route], bool]] = {
    "open311": lambda r: r.key.startswith("/open311/"),
    "api": lambda r: r.is_api,
    "staff": lambda r: r.key.startswith("/staff/"),
    "admin": lambda r: r.is_admin,
    "accounts": lambda r: r.key.startswith("/accounts/"),
    "site": lambda r: (
        not r.key.startswith(("/open311/", "/api/", "/staff/", "/admin/", "/accounts/"))
    ),
}


@pytest.fixture
def quiet_request_log() -> Iterator[None]:
    """Thousands of refused requests would each log a warning."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.fixture
def recording(settings: Any) -> None:
    settings.MIDDLEWARE = ["tests.config.fuzzing.RecordingMiddleware", *settings.MIDDLEWARE]


def test_no_route_takes_an_id_that_may_not_fit_the_database():
    """`<int:...>` matches any number of digits; `<id:...>` (config.converters) at most 18."""
    assert not [route.key for route in ROUTES if "int" in route.converters.values()]


def test_every_route_group_is_fuzzed():
    """A route no group takes would be left out silently."""
    assert all(any(take(route) for take in GROUPS.values()) for route in ROUTES)


@pytest.mark.parametrize("group", list(GROUPS))
def test_no_parameter_of_any_route_reaches_a_5xx(world, group, recording, quiet_request_log):
    fuzzer = Fuzzer(world)
    try:
        for route in ROUTES:
            if GROUPS[group](route):
                fuzzer.fuzz(route)
    finally:
        fuzzer.close()

    assert fuzzer.requests > 0
    assert not fuzzer.failures, (
        f"{fuzzer.failed} failing requests (FIXPOINT_FUZZ_SEED={SEED}), the first of each "
        "parameter:\n" + "\n".join(fuzzer.failures[:60])
    )
