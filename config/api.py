"""One JSON shape for every API error: {"error": {"code", "message", "fields"?}}.

Application errors, Django validation errors and DRF's own exceptions all come out in it, so a
client handles one format and never sees an HTML 500 page for bad input. `ApiSchema` documents that
shape for every error status an operation can answer, so clients (and schemathesis in the test
suite) can rely on the OpenAPI schema for failures too.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from config.errors import ApplicationError
from config.jsonapi import error_body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return _error(exc.code, exc.message, exc.status, exc.extra)
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
        response.data = error_body("invalid", _first(detail), fields=detail)
    else:
        code = getattr(exc, "default_code", "error")
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        response.data = error_body(code, message)
    return response


def _error(code: str, message: str, status_code: int, extra: dict[str, Any]) -> Response:
    return Response(error_body(code, message, **extra), status=status_code)


def _first(fields: Any) -> str:
    if isinstance(fields, dict):
        for name, messages in fields.items():
            text = messages[0] if isinstance(messages, list) and messages else messages
            return f"{name}: {text}" if name != "non_field_errors" else str(text)
    if isinstance(fields, list) and fields:
        return str(fields[0])
    return "Invalid input."


# --- the error shape in the OpenAPI schema ------------------------------------------------------


class ErrorSerializer(serializers.Serializer[Any]):
    """What every error response holds. Application errors may add keys of their own next to
    `code` and `message` (e.g. `allowed` for an invalid transition)."""

    error = inline_serializer(
        "ErrorDetail",
        fields={
            "code": serializers.CharField(
                help_text="Machine-readable: invalid, not_found, not_authenticated, throttled, "
                "no_authority_here, invalid_transition, …"
            ),
            "message": serializers.CharField(help_text="For people"),
            "fields": serializers.DictField(
                required=False, help_text="Validation errors: the messages of each field"
            ),
        },
    )


# An example of each error status, in the one shape (ApiSchema adds them to every operation).
ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "code": "invalid",
        "message": "latitude: Ensure this value is less than or equal to 90.",
        "fields": {"latitude": ["Ensure this value is less than or equal to 90."]},
    },
    401: {"code": "authentication_failed", "message": "Unknown or inactive API key."},
    403: {"code": "permission_denied", "message": "This API key is read-only."},
    404: {"code": "not_found", "message": "Not found."},
    409: {
        "code": "invalid_transition",
        "message": "A report cannot go from “Closed” to “In progress”.",
        "from": "closed",
        "to": "in_progress",
        "allowed": ["open"],
    },
    422: {"code": "no_authority_here", "message": "No authority covers this point."},
    429: {
        "code": "throttled",
        "message": "Request was throttled. Expected available in 12 seconds.",
    },
}


def error(description: str) -> OpenApiResponse:
    """An error response for `extend_schema(responses=...)`, in the one error shape."""
    return OpenApiResponse(ErrorSerializer, description=description)


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    pattern="^[\\x21-\\x7e]{1,255}$",
    description="Any unique value of yours (a UUID will do), 1-255 visible ASCII characters. "
    "Sent again with the same request within 24 hours, it answers what the first request "
    "answered (with `Idempotent-Replayed: true`) and writes nothing; with a different request "
    "it is a 422. Keys are your API key's (or your account's). Only successful answers are kept.",
)
KEY_REUSED = "The `Idempotency-Key` was used for a different request in the last 24 hours"


class ApiSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the error responses that follow from how a view is built:
    authentication (401), throttles (429), input (400), permissions on writes (403), a looked-up
    object, a cursor or a `?format=` (404). Errors that come from the domain (409, 422, a 403 of
    a service) are declared on the view with `error(...)`; a declared response is never replaced.
    """

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        # drf-spectacular has no public hook for responses common to every operation; this is the
        # method drf-standardized-errors extends for the same purpose.
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":  # callbacks and webhooks describe someone else's server
            return responses
        for status_code, description in self._error_statuses().items():
            if str(status_code) not in responses:
                responses[str(status_code)] = self._get_response_for_code(
                    error(description), str(status_code)
                )
            elif status_code == 422 and self._idempotent():  # the view's own 422, and this one
                declared = responses["422"]
                declared["description"] = f"{declared['description']}; or: {KEY_REUSED}"
        for code, response in responses.items():
            _add_error_example(response, ERROR_EXAMPLES.get(int(code)))
        return responses

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = super().get_override_parameters()
        return [*parameters, IDEMPOTENCY_KEY] if self._idempotent() else parameters

    def _idempotent(self) -> bool:
        """Whether the operation's handler takes an Idempotency-Key (accounts.idempotency)."""
        name = getattr(self.view, "action", None) or self.method.lower()
        return bool(getattr(getattr(self.view, name, None), "idempotent", False))

    def get_tags(self) -> list[str]:
        tag = getattr(self.view, "api_tag", None)
        return [tag] if tag else super().get_tags()

    def _error_statuses(self) -> dict[int, str]:
        view = self.view
        writes = self.method not in SAFE_METHODS
        statuses: dict[int, str] = {}
        takes_input = writes and self.get_request_serializer() is not None
        if takes_input or getattr(view, "filterset_class", None) is not None:
            statuses[400] = "Invalid input: `fields` names each invalid field"
        else:  # config.params.RefuseNulMiddleware, before any view: whatever the parameter
            statuses[400] = "A NUL character in a query parameter: `fields` names it"
        if self._idempotent():
            statuses.setdefault(400, "Invalid input, or a malformed `Idempotency-Key`")
            statuses[422] = KEY_REUSED
        if view.get_authenticators():
            statuses[401] = "Unknown or inactive API key or token, or none for a write"
        # A read-only API key's write is refused by its authentication, whatever the permissions.
        if writes and (
            view.get_authenticators()
            or not all(isinstance(p, AllowAny) for p in view.get_permissions())
        ):
            statuses[403] = "Not allowed: a read-only API key, or not your report or authority"
        paginated = self._is_list_view() and getattr(view, "paginator", None) is not None
        if "{" in self.path or paginated or self._has_formats():
            statuses[404] = "No such object, an invalid cursor, or an unknown `format`"
        if view.get_throttles():
            statuses[429] = "Too many requests: wait for the seconds in `Retry-After`"
        return statuses

    def _has_formats(self) -> bool:
        # The schema then lists `?format=`, and DRF answers an unknown one with 404.
        return len(self.map_renderers("format")) > 1


def _add_error_example(response: dict[str, Any], example: dict[str, Any] | None) -> None:
    for content in response.get("content", {}).values():
        if example is not None and "examples" not in content:
            content["examples"] = {"Error": {"value": {"error": example}}}


# --- the documentation around the operations (SPECTACULAR_SETTINGS hooks) ------------------------

API_DESCRIPTION = """\
Report street problems and follow them to a fix: the same reports, routing and lifecycle as the
website, for programs.

**Authentication** (any of the three; reading needs none):
- *API key* for third-party programs: `X-API-Key: <key>`. Keys are made by the site's
  administrators (admin, or `manage.py create_api_client NAME --scope read|write --user EMAIL`);
  a read key changes nothing (every write answers 403), a write key acts for the account it was
  made for, as that account or, for an app many people use, for the citizen each filing names
  by `email`, `first_name` and `last_name` (they confirm it by e-mail and get its updates).
- *Personal token* for people: `POST /api/v1/auth/token/` with `username` (the e-mail) and
  `password` answers `{"token": "..."}`; then send `Authorization: Token <token>`.
- *Session*: the site's own JavaScript, with the session cookie and the `X-CSRFToken` header.

**Errors** always have one shape, `{"error": {"code", "message", "fields"?}}`: `code` is for
programs (`invalid`, `not_authenticated`, `authentication_failed`, `permission_denied`,
`not_found`, `throttled`, `invalid_transition`, `no_authority_here`, `category_not_offered_here`,
`unknown_category`, ...), `message` for people, `fields` names each invalid field. Every operation
lists the statuses it can answer, each with an example.

**Limits**: requests are counted per API key, per account and per IP address (429 with
`Retry-After` in seconds past the limit); filing reports also per person (account or named
citizen) as on the website, and the token endpoint locks an account after repeated failures.

**Retrying a write safely**: filing a report, adding an update and "me too" take an
`Idempotency-Key` header (any unique value of yours, e.g. a UUID). If the answer was lost, send
the same request with the same key: within 24 hours it answers what the first one answered
(`Idempotent-Replayed: true`) and files nothing twice; the same key with a different request is
a 422. Open311's `POST requests` takes the same header.

**Pages**: report lists are cursor pages (`next`/`previous` links, `page_size` up to 200).
`?format=geojson` or `Accept: application/geo+json` answers GeoJSON.

**Open311 GeoReport v2** is served next to this API at `/open311/v2/` (JSON and XML, read and
write with an `api_key`): start from [its discovery document](/open311/v2/discovery.json); the
endpoints, extensions and the mapping of Fixpoint states to Open311 statuses are described in
`docs/api.md` of the source repository and in the
[GeoReport v2 specification](http://wiki.open311.org/GeoReport_v2).
"""

SECURITY_DESCRIPTIONS = {
    "ApiKey": "A third-party program's API key (read or write scope), made by the administrators.",
    "tokenAuth": "A person's token from POST /api/v1/auth/token/: `Authorization: Token <token>`.",
    "cookieAuth": "The site's session (its own JavaScript); writes also need `X-CSRFToken`.",
}

TAGS = [
    {"name": "Reports", "description": "Read, file, update and support reports."},
    {
        "name": "Staff",
        "description": "What staff of the report's authority do: change the state, assign, set "
        "the priority, re-route. Anyone else gets 403 and nothing changes.",
    },
    {"name": "Routing", "description": "Who is responsible where, for what."},
    {"name": "Categories and authorities", "description": "Kinds of problem, who handles them."},
    {"name": "Authentication", "description": "Personal tokens."},
    {
        "name": "Game",
        "description": "Points, leaderboards, challenges and prizes (when the site runs the game).",
    },
]


def api_operations_only(endpoints: list[Any]) -> list[Any]:
    """PREPROCESSING_HOOKS: the schema documents /api/v1/, not the schema view itself."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


def describe_api(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS: the introduction, how to authenticate, the tags and Open311."""
    result["info"]["description"] = API_DESCRIPTION
    result["tags"] = TAGS
    result["externalDocs"] = {
        "description": "Open311 GeoReport v2 at /open311/v2/ (discovery document)",
        "url": "/open311/v2/discovery.json",
    }
    schemes = result.get("components", {}).get("securitySchemes", {})
    for name, description in SECURITY_DESCRIPTIONS.items():
        if name in schemes:
            schemes[name]["description"] = description
    return result
