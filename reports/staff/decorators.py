"""The access check every staff page starts with (the queue, the work page, statistics, export)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from authorities import permissions

View = Callable[..., HttpResponseBase]


def staff_required(view: View) -> View:
    """Logged-in staff (a member of an authority, or a superuser) only; others get 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not permissions.is_staff_user(request.user):
            raise PermissionDenied(_("This page is for council staff."))
        return view(request, *args, **kwargs)

    return wrapper
