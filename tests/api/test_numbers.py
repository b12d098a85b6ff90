"""Where the API expects a number, a JSON boolean is refused (Python counts true as 1): every
number field of every request body in the OpenAPI schema is tried, so a new one is covered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from authorities.models import CategoryQuestion
from reports.models import Report
from tests import factories


def _number_fields(schema: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(method, path, property) for each number property of each JSON request body."""
    components = schema["components"]["schemas"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            shape = components[body["schema"]["$ref"].rsplit("/", 1)[1]]
            for name, field in shape.get("properties", {}).items():
                if field.get("type") in ("number", "integer"):
                    yield method, path, name


def test_every_number_in_a_request_body_refuses_json_booleans(tiny_city):
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(factories.UserFactory.create(is_superuser=True, is_staff=True))
    tried = set()

    for method, path, name in _number_fields(schema):
        url = path.replace("{id}", str(report.pk))
        for value in (True, False):
            response = getattr(client, method)(url, {name: value}, format="json")

            assert response.status_code == 400, (method, path, name, value)
            assert name in response.json()["error"]["fields"], (method, path, name, value)
        tried.add((path, name))

    assert {
        ("/api/v1/reports/", "latitude"),
        ("/api/v1/reports/{id}/reroute/", "longitude"),
    } <= tried
    report.refresh_from_db()
    assert (report.latitude, report.longitude) == tiny_city.WEST


def test_a_report_filed_with_longitude_true_is_refused_not_placed_at_1_degree(tiny_city):
    client = APIClient()
    client.force_login(factories.UserFactory.create())
    body = {"title": "Hole", "description": "Deep", "category": "pothole", "latitude": 10.05}

    response = client.post("/api/v1/reports/", {**body, "longitude": True}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["longitude"] == ["A valid number is required."]
    assert not Report.objects.exists()


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_no_answer_to_a_number_question(tiny_city, value):
    CategoryQuestion.objects.create(
        category=tiny_city.pothole, code="depth", label="Depth (cm)", datatype="number"
    )
    client = APIClient()
    client.force_login(factories.UserFactory.create())
    body = {"title": "Hole", "description": "Deep", "category": "pothole"}
    body |= {"latitude": 10.05, "longitude": 1.05, "extra": {"depth": value}}

    response = client.post("/api/v1/reports/", body, format="json")

    assert response.status_code == 400
    assert "Depth (cm): expected a number." in str(response.json()["error"]["fields"])
    assert not Report.objects.exists()
