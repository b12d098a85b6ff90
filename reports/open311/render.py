"""Plain JSON and XML output for Open311: lists of flat dicts, built without serializer machinery.

XML follows the spec's shapes: a root element per answer (``services``, ``service_definition``,
``service_requests``, ``errors``...), one child per item, and nested lists named by the plural and
singular of their field (``attributes``/``attribute``, ``values``/``value``...).
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from django.http import HttpRequest, HttpResponse

from config import renderers
from config.text import xml_safe

SINGULAR = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


class Open311Error(Exception):
    """An answer in the spec's error format: ``[{"code": 400, "description": "..."}]``."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def respond(
    data: Any, fmt: str, *, root: str, item: str | None = None, status: int = 200
) -> HttpResponse:
    """``data`` is a list of dicts (rendered as ``root``/``item``) or one dict (``root`` itself)."""
    if fmt == "xml":
        body = _xml(data, root, item)
        return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")
    body = renderers.dumps(data)  # compact UTF-8, by orjson
    return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")


def error_response(error: Open311Error, fmt: str) -> HttpResponse:
    body = [{"code": error.status, "description": error.description}]
    return respond(body, fmt, root="errors", item="error", status=error.status)


def refusal_for(request: HttpRequest, status: int, message: str) -> HttpResponse | None:
    """An error for a request refused before its view ran (config.jsonapi.refusal), in the
    spec's format of the URL's extension; None for requests that are not Open311's."""
    if not request.path.startswith("/open311/"):
        return None
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return error_response(Open311Error(status, message), fmt)


def _xml(data: Any, root: str, item: str | None) -> bytes:
    element = Element(root)
    if isinstance(data, list):
        for row in data:
            _fill(SubElement(element, item or "item"), row)
    else:
        _fill(element, data)
    declaration = b'<?xml version="1.0" encoding="utf-8"?>\n'
    return declaration + tostring(element, encoding="unicode").encode()


def _fill(element: Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(SubElement(element, key), child)
    elif isinstance(value, list):
        singular = SINGULAR.get(element.tag, "item")
        for child in value:
            _fill(SubElement(element, singular), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        # Stored text is clean (config.text); this keeps a row written some other way, or a
        # refused value quoted in an error, from making the whole answer invalid XML.
        element.text = xml_safe(str(value))
