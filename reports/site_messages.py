"""Site messages: banners administrators publish for a time, on some pages or about one
authority's area (docs/council-tools.md).

Writes go through `site_message_save` and `site_message_delete` (audited, and the cached list
is dropped after commit). Pages read `messages_for(page=..., authorities=...)`, each message's
`text` in the active language (a column per language, django-modeltranslation): every page
shows them, so the messages not yet over are cached (one query per `CACHE_SECONDS`
at most, none for a page while the cache holds them) and filtered in memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config import cache as shared_cache
from config import params
from config.aftercommit import after_commit

from .audit import audit_record
from .models import AuditAction, SiteMessage, SitePage

CACHE_KEY = "site-messages:v2"  # v2: a text column per language
CACHE_SECONDS = 300
OTHER_LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
DISMISSED_COOKIE = "fp_dismissed"
DISMISSED_KEEP = 20  # ids kept in the cookie: older dismissals are of messages long over


# --- Reads ---------------------------------------------------------------------------------------


def messages_for(
    *,
    page: str = "",
    authorities: Iterable[int] = (),
    dismissed: Iterable[int] = (),
    now: datetime | None = None,
) -> list[SiteMessage]:
    """The live messages for a page (a SitePage value, or "" for any other page) about a place
    covered by ``authorities`` (ids; none: a page about no place), without the dismissed ones.
    A message limited to an authority shows only where that authority covers the place."""
    now = now or timezone.now()
    places, hidden = set(authorities), set(dismissed)
    return [
        message
        for message in _not_over(now)
        if message.is_live(now)
        and message.pk not in hidden
        and (not message.pages or page in message.pages)
        and (message.authority_id is None or message.authority_id in places)
    ]


def _not_over(now: datetime) -> list[SiteMessage]:
    if shared_cache.unreachable():  # another process's change could not clear it
        return _load(now)
    found: list[SiteMessage] | None = cache.get(CACHE_KEY)
    if found is None:
        found = _load(now)
        cache.set(CACHE_KEY, found, CACHE_SECONDS)
    return found


def _load(now: datetime) -> list[SiteMessage]:
    return list(SiteMessage.objects.filter(ends_at__gt=now).order_by("-level", "starts_at", "id"))


def dismissed_ids(cookie: str | None) -> list[int]:
    """The message ids in the dismissal cookie (anything else in it is ignored)."""
    ids = []
    for part in (cookie or "").split(".")[:DISMISSED_KEEP]:
        with contextlib.suppress(params.InvalidParameter):
            ids.append(params.whole_number(part, "dismissed"))
    return ids


def dismissed_cookie(cookie: str | None, message_id: int) -> str:
    kept = [i for i in dismissed_ids(cookie) if i != message_id]
    return ".".join(str(i) for i in [message_id, *kept][:DISMISSED_KEEP])


# --- Writes --------------------------------------------------------------------------------------


@transaction.atomic
def site_message_save(*, message: SiteMessage, actor: User | None) -> SiteMessage:
    """Publish or change a message: checked, saved, audited; pages show it within a request."""
    site_message_check(message)
    before = _state(SiteMessage.objects.get(pk=message.pk)) if message.pk else {}
    message.save()
    audit_record(
        actor=actor,
        action=AuditAction.SITE_MESSAGE,
        obj=message,
        authority=message.authority_id,
        before=before,
        after=_state(message),
    )
    after_commit(forget)
    return message


@transaction.atomic
def site_message_delete(*, message: SiteMessage, actor: User | None) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.SITE_MESSAGE,
        obj=message,
        authority=message.authority_id,
        before=_state(message),
        after={"deleted": True},
    )
    message.delete()
    after_commit(forget)


def forget() -> None:
    """Drop the cached messages (a change was committed)."""
    if not shared_cache.unreachable():
        cache.delete(CACHE_KEY)


def site_message_check(message: SiteMessage) -> None:
    """ValidationError by field for a message that cannot be published."""
    errors: dict[str, Any] = {}
    if not text_in(message, "en").strip():  # the fallback of every language
        errors["text"] = _("Write the message.")
    if message.ends_at is None or message.starts_at is None:
        errors["ends_at"] = _("Say from when until when it is shown.")
    elif message.ends_at <= message.starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    unknown = [p for p in message.pages if p not in SitePage.values]
    if unknown:
        errors["pages"] = _("There is no page %(page)r.") % {"page": unknown[0]}
    if errors:
        raise ValidationError(errors)


def text_in(message: SiteMessage, code: str) -> str:
    """The message's own text in one language ("" if none was written), with no fallback."""
    return getattr(message, f"text_{code}", None) or ""


def _state(message: SiteMessage) -> dict[str, Any]:
    return {
        "text": text_in(message, "en"),
        **{f"text_{code}": text_in(message, code) for code in OTHER_LANGUAGES},
        "level": message.level,
        "starts_at": message.starts_at.isoformat(),
        "ends_at": message.ends_at.isoformat(),
        "pages": message.pages,
        "authority": message.authority_id,
    }


# --- Pages ---------------------------------------------------------------------------------------

# The named routes whose pages a message can be limited to.
PAGES_BY_ROUTE = {
    "reports:home": SitePage.HOME,
    "reports:new": SitePage.FILING,
    "reports:detail": SitePage.REPORT,
    "reports:authority": SitePage.AUTHORITY,
}


def messages_for_request(request: Any, authorities: Iterable[int] = ()) -> list[SiteMessage]:
    """What base.html shows: the page is found from the route, the place from the view."""
    match = getattr(request, "resolver_match", None)
    page = PAGES_BY_ROUTE.get(match.view_name if match else "", "")
    return messages_for(
        page=page,
        authorities=authorities,
        dismissed=dismissed_ids(request.COOKIES.get(DISMISSED_COOKIE)),
    )
