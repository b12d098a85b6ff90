"""The language switcher: Django's set_language, remembered on the account when signed in."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from .services import user_set_language


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Set the language cookie (Django's view: it also checks `next` is on this site) and, for a
    signed-in person, save the choice on the account so e-mails and other devices follow it."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_set_language(user=request.user, language=language)
    return response
