"""The live API keeps the promises of its own OpenAPI schema: schemathesis fuzzes every operation
of /api/schema/ on a real server (pytest-django's live_server) with a write API key.

Checks, and why these are fair:
- not_a_server_error: no input, however odd, may produce a 5xx.
- status_code_conformance: every status the API answers is documented (errors included).
- content_type_conformance: JSON (or GeoJSON) as documented, never an HTML error page.
- response_schema_conformance: bodies, success and error alike, match their documented schema.
- negative_data_rejection for request bodies (negative mode only): a body that breaks the schema
  is refused with a 4xx, never stored as if it were valid. Not for query parameters: they are
  lenient the DRF way (an empty `?format=`, or a `?boundary=` or `?page_size=` that does not
  parse, counts as absent), which is a convention, not a bug; filters that do not parse are 400s
  and the contract tests pin that.
Left out: positive_data_acceptance, because schema-valid input is still refused by the domain
(a point no authority covers is a 422, a made-up category slug a 400, a random id a 404);
ignored_auth and the stateful checks, because they need schemathesis's own runner and auth
(the contract tests in test_reports_api.py cover keys and scopes).

Hypothesis runs derandomized with a small budget per operation, so a run is reproducible and
takes seconds. Path parameters are generated freely in one pass (mostly 404s) and pinned to
existing objects in the others, so that the success responses are validated and negative data
reaches the view instead of missing the route.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import api_client_create
from reports import services
from reports.models import ReportState
from tests import factories

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def invalid_bodies_are_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    if case.meta is None or not case.meta.is_negative_at(ParameterLocation.BODY):
        return None
    return negative_data_rejection(ctx, response, case)


EXAMPLES = 20  # per operation and pass: some 600 requests in all
ANA = {"username": "ana@example.org", "password": "pw-for-tests"}


@pytest.fixture
def unthrottled(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF's rates (120/min anonymous, 1200/min per key) would turn the run into 429s.
    rates = {"anon": "100000/min", "user": "100000/min", "client": "100000/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        # One connection per request: on a kept-alive one Django's test server answers only
        # after a delayed ACK (40 ms a request), and the server's request thread would hold its
        # database connection open, so the PostgreSQL test database could not be dropped.
        session.headers["Connection"] = "close"
        yield session


def test_every_operation_keeps_to_the_schema(live_server, tiny_city, unthrottled, session):
    staff = tiny_city.west_staff
    _, key = api_client_create(name="fuzzer", scope="write", user=staff)
    readable = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Read me")
    movable = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Move me")
    services.report_transition(report_id=movable.pk, to_state=ReportState.VERIFIED, actor=staff)
    factories.UserFactory.create(email=ANA["username"], password=ANA["password"])
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}
    )
    fuzz = Fuzzer(live_server.url, key, session)

    # First the success path, which random data would practically never take.
    new = {"title": "Hole", "description": "Deep", "category": "pothole"}
    fuzz.explicit(schema["/api/v1/auth/token/"]["POST"], body=ANA)
    fuzz.explicit(
        schema["/api/v1/reports/"]["POST"], body={**new, "latitude": 10.05, "longitude": 1.05}
    )
    fuzz.explicit(schema["/api/v1/locate"]["GET"], query={"lat": 10.05, "lon": 1.15})
    for action, body in (("updates", {"text": "Still there"}), ("support", None)):
        fuzz.explicit(schema[f"/api/v1/reports/{{id}}/{action}/"]["POST"], readable.pk, body)
    fuzz.explicit(
        schema["/api/v1/reports/{id}/transition/"]["POST"], movable.pk, {"state": "fixed"}
    )
    # Then every operation with generated data.
    pinned = {
        "/api/v1/authorities/": {"slug": "west"},
        "/api/v1/categories/": {"slug": "pothole"},
        "/api/v1/reports/{id}/transition/": {"id": movable.pk},
        "/api/v1/reports/": {"id": readable.pk},
    }
    for result in schema.get_all_operations():
        operation = result.ok()
        path = next((v for p, v in pinned.items() if operation.path.startswith(p)), None)
        fuzz.run(operation, GenerationMode.POSITIVE)
        if operation.path_parameters:
            fuzz.run(operation, GenerationMode.POSITIVE, path)
        if operation.query or operation.body:  # something left to break once the path is pinned
            fuzz.run(operation, GenerationMode.NEGATIVE, path)

    assert not fuzz.failures, "\n\n".join(fuzz.failures)
    # Every operation of /api/v1/ was fuzzed (13 when this was written): none lost from the schema.
    assert len(fuzz.operations) >= 13, sorted(fuzz.operations)


class Fuzzer:
    """Runs schemathesis cases against the live server and collects failures of every operation,
    so one run reports them all."""

    def __init__(self, base_url: str, key: str, session: requests.Session) -> None:
        self.base_url = base_url
        self.headers = {"X-API-Key": key}
        self.session = session
        self.failures: list[str] = []
        self.operations: set[str] = set()

    def run(self, operation: Any, mode: GenerationMode, path: dict[str, Any] | None = None) -> None:
        self.operations.add(operation.label)
        checks = [*CHECKS, invalid_bodies_are_refused] if mode.is_negative else CHECKS

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: each step is a request
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path))
        def check(case: Any) -> None:
            self.call(case, checks)

        self.record(f"{operation.label} [{mode}{', pinned path' if path else ''}]", check)

    def explicit(
        self, operation: Any, pk: int | None = None, body: Any = None, query: Any = None
    ) -> None:
        """One valid request, which must succeed and keep to the schema."""
        case = operation.Case(
            path_parameters={"id": pk} if pk else {},
            query=query,
            **({"body": body, "media_type": "application/json"} if body else {}),
        )

        def check() -> None:
            response = self.call(case, CHECKS)
            assert response.status_code < 300, response.text

        self.record(f"{operation.label} [explicit]", check)

    def call(self, case: Any, checks: list[Any]) -> Any:
        return case.call_and_validate(
            base_url=self.base_url, session=self.session, headers=self.headers, checks=checks
        )

    def record(self, label: str, check: Any) -> None:
        try:
            check()
        except (Exception, FailureGroup) as exc:  # every operation reports, not just the first
            self.failures.append(f"{label}: {exc}")


# --- what the fuzzing found, pinned -----------------------------------------------------------


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_the_schema_documents_every_error_in_the_one_shape(db, api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, methods in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in methods.items()
    ]

    for label, operation in operations:
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
        assert "401" in errors, label
        for code, response in errors.items():
            for content in response["content"].values():
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}, (label, code)
    reports = schema["paths"]["/api/v1/reports/{id}/transition/"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "429"} <= set(reports)
    assert set(schema["paths"]["/api/v1/locate"]["get"]["responses"]) >= {"400", "422"}


def test_the_schema_matches_what_the_api_outputs(db, api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    listing = schema["paths"]["/api/v1/reports/"]["get"]["responses"]["200"]["content"]
    slug = schema["paths"]["/api/v1/categories/{slug}/"]["get"]["parameters"][0]

    assert components["Authority"]["properties"]["parent"]["nullable"] is True  # a city's is null
    assert components["ReportDetail"]["properties"]["duplicate_of"]["nullable"] is True
    assert listing["application/geo+json"]["schema"]["$ref"].endswith("ReportFeatureCollection")
    assert slug["schema"]["pattern"] == "^[-a-zA-Z0-9_]+$"  # what the route matches


def test_staff_who_move_a_report_to_spam_get_it_back_not_a_500(tiny_city, api):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    api.force_authenticate(tiny_city.west_staff)

    moved = api.post(f"/api/v1/reports/{report.pk}/transition/", {"state": "spam"}, format="json")

    assert moved.status_code == 200 and moved.json()["state"] == "spam"
    assert api.get(f"/api/v1/reports/{report.pk}/").status_code == 404  # still never public


@pytest.mark.parametrize(
    ("url", "status"),
    [
        # PostgreSQL refuses offsets past ±15:59: the time is moved to UTC first.
        ("/api/v1/reports/?created_since=2026-01-01T00:00:00%2B20:41", 200),
        ("/api/v1/reports/?updated_until=0001-01-01T00:00:00%2B01:00", 400),  # before year 1
        ("/api/v1/reports/?state=open,%00", 400),
        ("/api/v1/reports/?cursor=" + b64encode(b"p=2026-01-01T00:00:00").decode(), 404),
        ("/api/v1/reports/?cursor=" + b64encode(b"p=2026-01-01T00:00%2B20:41").decode(), 200),
        ("/api/v1/locate?lat=1e400&lon=2.1", 400),  # inf, which JSON cannot even say
        ("/api/v1/locate?lat=nan&lon=2.1", 400),
    ],
)
def test_odd_query_input_is_refused_in_the_error_shape(tiny_city, api, url, status):
    response = api.get(url)

    assert response.status_code == status, response.content
    assert status == 200 or response.json()["error"]["message"]
