"""One JSON shape for every API error: {"error": {"code", "message", "fields"?}}.

Application errors, Django validation errors and DRF's own exceptions all come out in it, so a
client handles one format and never sees an HTML 500 page for bad input.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from config.errors import ApplicationError

STATUS_FOR_CODE = {
    "no_authority_here": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "category_not_offered_here": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "not_allowed": status.HTTP_403_FORBIDDEN,
    "invalid_transition": status.HTTP_409_CONFLICT,
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return _error(exc.code, exc.message, STATUS_FOR_CODE.get(exc.code, 400), exc.extra)
    if isinstance(exc, DjangoValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return _error("invalid", _first(fields), 400, {"fields": fields})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        response.data = {"error": {"code": "invalid", "message": _first(detail), "fields": detail}}
    else:
        code = getattr(exc, "default_code", "error")
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        response.data = {"error": {"code": code, "message": message}}
    return response


def _error(code: str, message: str, status_code: int, extra: dict[str, Any]) -> Response:
    return Response({"error": {"code": code, "message": message, **extra}}, status=status_code)


def _first(fields: Any) -> str:
    if isinstance(fields, dict):
        for name, messages in fields.items():
            text = messages[0] if isinstance(messages, list) and messages else messages
            return f"{name}: {text}" if name != "non_field_errors" else str(text)
    if isinstance(fields, list) and fields:
        return str(fields[0])
    return "Invalid input."
