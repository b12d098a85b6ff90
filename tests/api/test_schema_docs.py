"""The OpenAPI documentation is complete: every operation of /api/schema/ is described, names its
error responses in the one error shape, documents each parameter, and shows examples, and every
example keeps to the schema it illustrates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

ERROR_REF = {"$ref": "#/components/schemas/Error"}
WRITES = {"post", "put", "patch", "delete"}
SCHEMES = {"ApiKey", "tokenAuth", "cookieAuth"}


@pytest.fixture
def schema(db: None) -> dict[str, Any]:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", method, operation


def _gaps(method: str, operation: dict[str, Any]) -> list[str]:
    """What the documentation of one operation lacks, in words."""
    gaps = []
    if not operation.get("description", "").strip():
        gaps.append("no description")
    if not operation.get("tags"):
        gaps.append("no tag")
    if {scheme for rule in operation.get("security", []) for scheme in rule} != SCHEMES:
        gaps.append(f"security is not {sorted(SCHEMES)}")
    for parameter in operation.get("parameters", []):
        if not parameter.get("description", "").strip():
            gaps.append(f"parameter {parameter['name']} has no description")
        kind = parameter.get("schema", {})
        if "type" not in kind or (kind["type"] == "array" and "type" not in kind["items"]):
            gaps.append(f"parameter {parameter['name']} has no type")
    gaps += _error_gaps(operation["responses"])
    gaps += _example_gaps(method, operation)
    return gaps


def _error_gaps(responses: dict[str, Any]) -> list[str]:
    errors = {code: r for code, r in responses.items() if code >= "400"}
    gaps = [] if errors else ["no error response"]
    for code, response in errors.items():
        if not response.get("description"):
            gaps.append(f"{code} has no description")
        for media, content in response.get("content", {}).items():
            if content["schema"] != ERROR_REF:
                gaps.append(f"{code} {media} is not the one error shape")
            if not content.get("examples"):
                gaps.append(f"{code} {media} has no example")
    return gaps


def _example_gaps(method: str, operation: dict[str, Any]) -> list[str]:
    gaps = []
    body = operation.get("requestBody", {}).get("content", {})
    if method in WRITES and body and not body.get("application/json", {}).get("examples"):
        gaps.append("the JSON request body has no example")
    for code, response in operation["responses"].items():
        for media, content in response.get("content", {}).items():
            if code < "300" and not content.get("examples"):
                gaps.append(f"{code} {media} has no example")
    return gaps


def test_every_operation_is_described_with_parameters_errors_and_examples(schema):
    gaps = {label: _gaps(method, op) for label, method, op in _operations(schema)}

    assert len(gaps) >= 22, sorted(gaps)  # the API's 22 operations when this was written
    assert {label: found for label, found in gaps.items() if found} == {}


def test_the_introduction_names_every_way_to_authenticate_and_links_open311(schema, client):
    schemes = schema["components"]["securitySchemes"]
    intro = schema["info"]["description"]

    assert set(schemes) == SCHEMES and all(s["description"] for s in schemes.values())
    assert "X-API-Key" in intro and "Authorization: Token" in intro and "session" in intro
    assert "/open311/v2/discovery.json" in intro
    assert schema["externalDocs"]["url"] == "/open311/v2/discovery.json"
    assert client.get(schema["externalDocs"]["url"]).status_code == 200
    assert "/api/schema/" not in schema["paths"]  # the schema documents the API, not itself


def _examples(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any, str]]:
    """(where, JSON schema, example value, direction) for every example in the document."""
    for label, _, operation in _operations(schema):
        body = operation.get("requestBody", {}).get("content", {})
        for media, content in body.items():
            for name, example in content.get("examples", {}).items():
                yield f"{label} {media} {name}", content["schema"], example["value"], "request"
        for code, response in operation["responses"].items():
            for media, content in response.get("content", {}).items():
                for name, example in content.get("examples", {}).items():
                    where = f"{label} {code} {media} {name}"
                    yield where, content["schema"], example["value"], "response"


def _json_schema(node: Any, direction: str) -> Any:
    """OpenAPI 3.0 to JSON Schema: `nullable` becomes a null alternative, and a request need not
    send what is read-only (nor an answer hold what is write-only)."""
    if isinstance(node, list):
        return [_json_schema(item, direction) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _json_schema(value, direction) for key, value in node.items() if key != "nullable"
    }
    hidden = "readOnly" if direction == "request" else "writeOnly"
    properties = node.get("properties")
    if isinstance(node.get("required"), list) and isinstance(properties, dict):
        converted["required"] = [
            name for name in node["required"] if not properties.get(name, {}).get(hidden)
        ]
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_every_example_keeps_to_the_schema_it_illustrates(schema):
    found = list(_examples(schema))
    wrong = {}
    for where, shape, value, direction in found:
        components = _json_schema(schema["components"], direction)
        validator = Draft202012Validator(
            {**_json_schema(shape, direction), "components": components}
        )
        errors = [error.message for error in validator.iter_errors(value)]
        if errors:
            wrong[where] = errors

    assert len(found) > 50  # requests, answers and errors of every operation
    assert wrong == {}


def test_a_wrong_example_is_caught(schema):
    """The check above can fail: an answer missing a field, or with a text for a number."""
    report = schema["paths"]["/api/v1/reports/{id}/"]["get"]["responses"]["200"]["content"]
    content = report["application/json"]
    good = next(iter(content["examples"].values()))["value"]
    shape = _json_schema({**content["schema"], "components": schema["components"]}, "response")
    validator = Draft202012Validator(shape)

    assert validator.is_valid(good)
    assert not validator.is_valid({k: v for k, v in good.items() if k != "history"})
    assert not validator.is_valid({**good, "latitude": "north"})


def test_every_operation_documents_the_400_a_nul_in_any_query_parameter_gets(
    schema: dict[str, Any],
) -> None:
    """A NUL in a query parameter, even one the operation does not read, is refused before the
    view (config.params.RefuseNulMiddleware): schemathesis found it undocumented on operations
    without input or filters."""
    missing = [name for name, _, op in _operations(schema) if "400" not in op["responses"]]
    assert not missing, missing
    answer = APIClient().get("/api/v1/categories/", {"unknown": "a\x00b"})
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {
        "unknown": ["A parameter contains a NUL character."]
    }
