"""/.well-known/security.txt (RFC 9116): where a person who found a vulnerability writes.

The contact comes from SECURITY_CONTACT (an e-mail address or an https:// address), so each
deployment names its own operator; docs/security.md says what happens to a report. Expires is a
required field: it is set a fixed time ahead of each answer, so a running site never serves an
expired file, and it is cached for a day like the favicon.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from config.jsonapi import absolute_url

VALID_FOR = timedelta(days=180)  # RFC 9116 advises less than a year


def contact_uri(contact: str) -> str:
    """An address as RFC 9116 wants it: mailto: for an e-mail address, else as given."""
    return contact if ":" in contact else f"mailto:{contact}"


@require_safe
@cache_control(public=True, max_age=86400)
def security_txt(request: HttpRequest) -> HttpResponse:
    expires = (timezone.now() + VALID_FOR).replace(microsecond=0)
    languages = ", ".join(code for code, _name in settings.LANGUAGES)
    lines = [
        f"Contact: {contact_uri(settings.FIXPOINT_SECURITY_CONTACT)}",
        f"Expires: {expires.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"Preferred-Languages: {languages}",
        f"Canonical: {absolute_url(request, request.path)}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
