"""/favicon.ico: browsers ask for it at the site's root whatever the page says, so it is served
there (the pages also name static/icons/icon.svg, the same pin, which modern browsers prefer)."""

from __future__ import annotations

from functools import cache

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


@cache
def _icon() -> bytes:
    path = finders.find("favicon.ico")
    with open(str(path), "rb") as icon:
        return icon.read()


@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_icon(), content_type="image/x-icon")
