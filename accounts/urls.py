"""The language switcher and the scripts' translations, under /i18n/."""

from __future__ import annotations

from django.urls import path
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog

from .views import set_language

urlpatterns = [
    path("setlang/", set_language, name="set_language"),
    # The static scripts' strings (djangojs catalogue) in the page's language; the page asks for
    # ?v=<language>, so a browser keeps one copy per language for an hour.
    path(
        "js/",
        cache_control(max_age=3600)(JavaScriptCatalog.as_view()),
        name="javascript-catalog",
    ),
]
