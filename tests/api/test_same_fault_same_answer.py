"""The same fault gets the same status on the three JSON surfaces: the site's own JSON, the REST
API and Open311 (the table in docs/api.md). The site's JSON and the API answer in one error body,
`{"error": {"code", "message", "fields"?}}`; Open311 in the GeoReport v2 list of errors, whose
`code` is the status."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiScope
from accounts.services import api_client_create
from tests.conftest import TinyCity

SITE, API, OPEN311 = "site JSON", "REST API", "Open311"
BOX = "0.9,9.9,1.3,10.3"
# A point inside the west district, which handles potholes, and one nobody covers.
HERE = {"lat": "10.05", "lon": "1.05"}
UNKNOWN = "unknown_category"


@dataclass(frozen=True)
class Probe:
    surface: str
    method: str
    path: str
    data: dict[str, str] | str | None = None
    field: str | None = None  # the parameter `fields` must name (site JSON and API)
    code: str | None = None  # the error code (site JSON and API)

    def __str__(self) -> str:
        return f"{self.surface}: {self.method} {self.path}"


def filing(**changes: str) -> str:
    body = {"title": "Hole", "description": "A deep one.", "category": "pothole"}
    body |= {"latitude": HERE["lat"], "longitude": HERE["lon"], **changes}
    return json.dumps(body)


def open311_filing(**changes: str) -> dict[str, str]:
    body = {"service_code": "pothole", "description": "A deep hole.", "email": "a@example.org"}
    return body | {"lat": HERE["lat"], "long": HERE["lon"], **changes}


FAULTS: dict[str, tuple[int, list[Probe]]] = {
    "bad coordinate": (
        400,
        [
            Probe(SITE, "GET", "/locate.json?lat=north&lon=1.05", field="lat", code="invalid"),
            Probe(SITE, "GET", "/locate.json?lat=95&lon=1.05", field="lat", code="invalid"),
            Probe(SITE, "GET", "/nearby.json?lat=10.05&category=pothole", field="lon"),
            Probe(SITE, "GET", f"/map/list.json?bbox={BOX}&lat=10.05", field="lon"),
            Probe(API, "GET", "/api/v1/locate?lat=north&lon=1.05", field="lat", code="invalid"),
            Probe(API, "GET", "/api/v1/locate?lat=95&lon=1.05", field="lat", code="invalid"),
            Probe(API, "GET", "/api/v1/locate?lon=1.05", field="lat", code="invalid"),
            Probe(API, "POST", "/api/v1/reports/", filing(latitude="95"), field="latitude"),
            Probe(OPEN311, "GET", "/open311/v2/services.json?lat=north&long=1.05"),
            Probe(OPEN311, "GET", "/open311/v2/services.json?lat=95&long=1.05"),
            Probe(OPEN311, "POST", "/open311/v2/requests.json", open311_filing(lat="95")),
        ],
    ),
    "bad bbox": (
        400,
        [
            Probe(SITE, "GET", "/map/list.json?bbox=1,2,3", field="bbox", code="invalid"),
            Probe(SITE, "GET", "/map/reports.json?bbox=3,2,1,4&zoom=12", field="bbox"),
            Probe(API, "GET", "/api/v1/reports/?bbox=1,2,3", field="bbox", code="invalid"),
            Probe(API, "GET", "/api/v1/reports/?bbox=3,2,1,4", field="bbox", code="invalid"),
            Probe(OPEN311, "GET", "/open311/v2/requests.json?bbox=1,2,3"),
            Probe(OPEN311, "GET", "/open311/v2/requests.json?bbox=3,2,1,4"),
        ],
    ),
    "a point nobody covers": (
        422,
        [
            Probe(SITE, "GET", "/locate.json?lat=50&lon=50", code="no_authority_here"),
            Probe(API, "GET", "/api/v1/locate?lat=50&lon=50", code="no_authority_here"),
            Probe(API, "POST", "/api/v1/reports/", filing(latitude="50", longitude="50")),
            Probe(
                OPEN311, "POST", "/open311/v2/requests.json", open311_filing(lat="50", long="50")
            ),
        ],
    ),
    "unknown category": (
        400,
        [
            Probe(SITE, "GET", "/nearby.json?lat=10.05&lon=1.05&category=nope", field="category"),
            Probe(SITE, "GET", f"/map/reports.json?bbox={BOX}&zoom=12&category=nope", code=UNKNOWN),
            Probe(API, "POST", "/api/v1/reports/", filing(category="nope"), "category", UNKNOWN),
            Probe(OPEN311, "POST", "/open311/v2/requests.json", open311_filing(service_code="x")),
        ],
    ),
    "unknown id or address": (
        404,
        [
            Probe(SITE, "GET", "/map/nothing-here.json", code="not_found"),
            Probe(API, "GET", "/api/v1/reports/999999/", code="not_found"),
            Probe(API, "GET", "/api/v1/categories/nope/", code="not_found"),
            Probe(API, "GET", "/api/v1/nothing-here", code="not_found"),
            Probe(OPEN311, "GET", "/open311/v2/requests/NOPE.json"),
            Probe(OPEN311, "GET", "/open311/v2/services/nope.json"),
            Probe(OPEN311, "GET", "/open311/v2/nothing-here.json"),
        ],
    ),
    "wrong method": (
        405,
        [
            Probe(SITE, "POST", "/locate.json?lat=10.05&lon=1.05", code="method_not_allowed"),
            Probe(SITE, "GET", "/photo-gps.json", code="method_not_allowed"),
            Probe(SITE, "POST", f"/map/reports.json?bbox={BOX}&zoom=12"),
            Probe(API, "POST", "/api/v1/locate?lat=10.05&lon=1.05", code="method_not_allowed"),
            Probe(API, "DELETE", "/api/v1/reports/", code="method_not_allowed"),
            Probe(OPEN311, "POST", "/open311/v2/services.json"),
            Probe(OPEN311, "DELETE", "/open311/v2/requests.json"),
        ],
    ),
    "a body that is not what the endpoint reads": (
        400,
        [
            Probe(SITE, "POST", "/photo-gps.json", "{", field="photo"),
            Probe(API, "POST", "/api/v1/reports/", "{", code="parse_error"),
            Probe(API, "POST", "/api/v1/reports/", "[1, 2]", code="invalid"),
            Probe(OPEN311, "POST", "/open311/v2/requests.json", "{"),
        ],
    ),
}

CASES = [
    pytest.param(status, probe, id=f"{fault} | {probe}")
    for fault, (status, probes) in FAULTS.items()
    for probe in probes
]


@pytest.fixture
def write_key(tiny_city: TinyCity) -> str:
    """A write key, so that every probe reaches the fault it is about (a write without a key is
    refused before anything else, on the API and on Open311)."""
    return api_client_create(name="Tester", scope=ApiScope.WRITE, user=tiny_city.west_staff)[1]


def send(probe: Probe, key: str) -> Any:
    client = APIClient()
    path, data = probe.path, probe.data
    if probe.surface == OPEN311 and probe.method != "GET":
        path += ("&" if "?" in path else "?") + f"api_key={key}"
    if isinstance(data, str):
        kwargs: dict[str, Any] = {"data": data, "content_type": "application/json"}
    elif data is not None:  # Open311's writes are forms
        kwargs = {"data": data, "format": "multipart"}
    else:
        kwargs = {}
    return getattr(client, probe.method.lower())(path, HTTP_X_API_KEY=key, **kwargs)


@pytest.mark.parametrize(("status", "probe"), CASES)
def test_the_same_fault_gets_the_same_status_on_every_surface(
    tiny_city: TinyCity, write_key: str, status: int, probe: Probe
) -> None:
    response = send(probe, write_key)

    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    if probe.surface == OPEN311:
        [error] = body  # the GeoReport v2 shape, its code the status
        assert error["code"] == status and error["description"]
    else:
        error = body["error"]
        assert isinstance(error["code"], str) and error["code"] and error["message"]
        assert probe.code is None or error["code"] == probe.code
        assert probe.field is None or probe.field in error["fields"], error
    if status == 405:
        assert response["Allow"], "a 405 says which methods the address takes"
        assert probe.method not in response["Allow"]


def test_every_fault_is_probed_on_every_surface() -> None:
    for fault, (_, probes) in FAULTS.items():
        assert {probe.surface for probe in probes} == {SITE, API, OPEN311}, fault
