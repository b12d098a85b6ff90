"""Checking Open311 answers: JSON against the community schemas, XML element by element."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).resolve().parent / "schemas"
COMMUNITY = ("request", "requests", "service", "services", "service-definition")

# Answers the community schemas do not cover. The spec's error list and discovery document, and
# mySociety's servicerequestupdates list, written here from their documentation; the POST and token
# answers come from the community swagger.json definitions.
LOCAL: dict[str, dict[str, Any]] = {
    "errors": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["code", "description"],
            "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        },
    },
    "discovery": {
        "type": "object",
        "required": ["changeset", "contact", "key_service", "endpoints"],
        "properties": {
            "changeset": {"type": "string", "format": "date-time"},
            "endpoints": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["specification", "url", "changeset", "type", "formats"],
                    "properties": {
                        "type": {"enum": ["production", "test"]},
                        "formats": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    },
    "updates-post": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["update_id"],
            "properties": {"update_id": {"type": "string"}},
        },
    },
    "updates": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["update_id", "service_request_id", "status", "updated_datetime"],
            "properties": {
                "update_id": {"type": "string"},
                "service_request_id": {"type": "string"},
                "status": {"type": "string"},
                "updated_datetime": {"type": "string", "format": "date-time"},
                "description": {"type": "string"},
            },
        },
    },
}


@cache
def _registry() -> Registry:
    resources = [
        (f"{name}.json", Resource.from_contents(_load(name), default_specification=DRAFT7))
        for name in COMMUNITY
    ]
    return Registry().with_resources(resources)


def _load(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((SCHEMAS / f"{name}.json").read_text())
    return result


@cache
def _swagger_definition(name: str) -> dict[str, Any]:
    definition: dict[str, Any] = _load("swagger")["definitions"][name]
    return {"type": "array", "minItems": 1, "items": {**definition, "type": "object"}}


def schema(name: str) -> dict[str, Any]:
    if name in COMMUNITY:
        return {"$ref": f"{name}.json"}
    if name in ("post-response", "token-response"):
        return _swagger_definition(
            "RequestResponse" if name == "post-response" else "TokenResponse"
        )
    return LOCAL[name]


def valid_json(response: Any, name: str, status: int = 200) -> Any:
    """The answer's JSON, after checking its status, content type and schema."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(response.content)
    validator = Draft7Validator(schema(name), registry=_registry(), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(data), key=str)
    assert not errors, [e.message for e in errors]
    return data


def xml_root(response: Any, root: str, status: int = 200) -> ElementTree.Element:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("text/xml")
    element = ElementTree.fromstring(response.content)  # noqa: S314 - our own answer
    assert element.tag == root
    return element


def xml_text(value: Any) -> str | None:
    if value is None or value == "":
        return None  # an empty element
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def assert_xml_matches(element: ElementTree.Element, expected: dict[str, Any]) -> None:
    """Every field of the JSON item is an element with the same text (lists nested by name)."""
    assert [child.tag for child in element] == list(expected)
    for key, value in expected.items():
        child = element.find(key)
        assert child is not None, key
        if isinstance(value, list):
            items = list(child)
            assert len(items) == len(value), key
            for item, item_value in zip(items, value, strict=True):
                if isinstance(item_value, dict):
                    assert_xml_matches(item, item_value)
                else:
                    assert item.text == xml_text(item_value)
        else:
            assert child.text == xml_text(value), key
