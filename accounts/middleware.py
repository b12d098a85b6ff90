"""A signed-in person's saved language follows them to every device they sign in from.

Pages are in the language LocaleMiddleware picks: the language cookie, else Accept-Language.
The switcher sets that cookie (and saves the choice on the account); logging in sets it from the
account (accounts.apps.keep_language marks the request). So no request has to load the user just
to know the language, and the cookie and the account never disagree for long.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REMEMBER = "fixpoint_language_to_remember"


def remember_language(request: HttpRequest, language: str) -> None:
    """Have the response to this request set the language cookie (used on log-in)."""
    setattr(getattr(request, "_request", request), REMEMBER, language)  # a DRF request wraps one


class LanguageCookieMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        language = getattr(request, REMEMBER, "")
        if language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
            )
        return response
