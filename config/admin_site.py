"""The admin site: Django's, with what its own views cannot handle taken out before they run."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.options import TO_FIELD_VAR
from django.http import HttpRequest, HttpResponse, QueryDict

View = TypeVar("View", bound=Callable[..., Any])


class FixpointAdminSite(admin.AdminSite):
    def admin_view(self, view: View, cacheable: bool = False) -> View:
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Django's change and delete views check a non-empty `_to_field`, then look the
            # object up by any `_to_field` given: an empty one was a FieldDoesNotExist (a 500).
            # Empty means "by primary key", as when it is left out.
            request.GET = cast(Any, _without_empty_to_field(request.GET))
            if request.method == "POST":
                request.POST = cast(Any, _without_empty_to_field(request.POST))
            return cast(HttpResponse, inner(request, *args, **kwargs))

        return cast(View, guarded)


def _without_empty_to_field(data: QueryDict) -> QueryDict:
    if data.get(TO_FIELD_VAR, None) != "":
        return data
    trimmed = data.copy()
    del trimmed[TO_FIELD_VAR]
    return trimmed
