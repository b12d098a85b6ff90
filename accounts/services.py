"""Writes to accounts: API clients and their keys."""

from __future__ import annotations

import hashlib
import secrets
from time import monotonic
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.compiled import CompiledQuery, field_names, instance
from config.errors import ApplicationError

from .models import ApiClient, ApiScope, User


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyRefused(ApplicationError):
    """An API key may not do what a request asks (api_client_authorize)."""


class KeyCannotAct(KeyRefused):
    """Unknown, switched off, or its account deactivated: nothing may be done with it."""

    code = "authentication_failed"
    status = 401


class KeyMayOnlyRead(KeyRefused):
    code = "permission_denied"
    status = 403


class WriteKeyNeedsAccount(ApplicationError):
    code = "invalid"


@transaction.atomic
def api_client_create(
    *,
    name: str,
    scope: str = ApiScope.READ,
    user: User | None = None,
    files_for_citizens: bool = False,
) -> tuple[ApiClient, str]:
    """Create a client and return it with its key, which is never stored and never shown again.
    A write key is refused unless it acts for an active account (api_client_check_scope)."""
    if scope not in ApiScope.values:
        raise ValueError(f"scope must be one of {', '.join(ApiScope.values)}")
    api_client_check_scope(scope=scope, user=user, files_for_citizens=files_for_citizens)
    key = f"fp_{secrets.token_urlsafe(32)}"
    client = ApiClient.objects.create(
        name=name,
        scope=scope,
        user=user,
        files_for_citizens=files_for_citizens,
        prefix=key[:11],
        key_hash=key_hash(key),
    )
    return client, key


def api_client_check_scope(
    *, scope: str, user: User | None, files_for_citizens: bool = False
) -> None:
    """A write key always acts for an active account: what it files is filed by that account,
    which is accountable for it, as itself or for the citizens its requests name
    (reports.filers; docs/api.md, "Keys and limits"). A key that could never write is not
    issued, whatever makes it (the command, the admin, code)."""
    if scope != ApiScope.WRITE:
        if files_for_citizens:
            raise WriteKeyNeedsAccount(_("Only a write key files reports, for citizens or not."))
        return
    if user is None:
        raise WriteKeyNeedsAccount(
            _(
                "A write key acts for a user account, which is accountable for what it files: "
                "name one (an app filing for many citizens names each citizen in its requests)."
            )
        )
    if not user.is_active:
        raise WriteKeyNeedsAccount(
            _("The account %(email)s is inactive: it cannot write.") % {"email": user.email}
        )


def api_client_authorize(key: str, *, write: bool) -> ApiClient:
    """The one rule deciding whether a key may act, for the REST API (its authentication, so no
    view or action can leave it out) and Open311 alike: the key is known and switched on, the
    account it acts for (if any) is active, and a request that writes has a write key.
    Raises KeyCannotAct (401) or KeyMayOnlyRead (403)."""
    client = api_client_for_key(key)
    if client is None:
        raise KeyCannotAct(_("Unknown or inactive API key."))
    if client.user is not None and not client.user.is_active:
        raise KeyCannotAct(_("This API key's user account is inactive."))
    if write and not client.can_write:
        raise KeyMayOnlyRead(_("This API key is read-only."))
    return client


def api_client_for_key(key: str) -> ApiClient | None:
    """The active client with this key, or None. Records when it was last used."""
    if not key:
        return None
    row = _client_row(key_hash(key))
    if row is None:
        return None
    client = instance(ApiClient, row)
    client.user = instance(User, row, "user__") if client.user_id is not None else None
    # One cheap UPDATE, skipped within a minute of the last one to spare busy clients.
    now = timezone.now()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        row["last_used_at"] = now
    return client


def api_keys_forget(**_: object) -> None:
    """Forget this process's recently seen keys: connected to every change of a client or a
    user (accounts.apps), so a key revoked or changed here is looked up again at once."""
    _recent.clear()


# Every API-key request needs its client: compiled once, because building the ORM query with
# select_related cost more than running it (docs/benchmarks.md). The sample is no SHA-256 hex
# digest (those are 64 hex digits).
_BY_HASH = CompiledQuery(
    lambda digest: ApiClient.objects.filter(key_hash=digest, is_active=True).values(
        *field_names(ApiClient), *field_names(User, "user__")
    ),
    "not a key hash",
)

# Keys found in the last FIXPOINT_API_KEY_CACHE_SECONDS, per process: API traffic is a few
# programs each sending many requests, and looking the key up again for each was one of the two
# round trips to PostgreSQL of a filing. Rows are kept, not instances, so no request sees what
# another did to its objects. Keys not found are never kept (a new key works at once), and the
# whole lot is dropped when it holds RECENT_KEYS.
_recent: dict[str, tuple[float, dict[str, Any]]] = {}
RECENT_KEYS = 1000


def _client_row(digest: str) -> dict[str, Any] | None:
    now = monotonic()
    seen = _recent.get(digest)
    if seen is not None and now < seen[0]:
        return seen[1]
    rows = _BY_HASH.run(digest)
    if not rows:
        _recent.pop(digest, None)
        return None
    seconds = settings.FIXPOINT_API_KEY_CACHE_SECONDS
    if seconds > 0:
        if len(_recent) >= RECENT_KEYS:
            _recent.clear()
        _recent[digest] = (now + seconds, rows[0])
    return rows[0]


def user_set_language(*, user: User, language: str) -> None:
    """Remember the language a person chose; pages and e-mails to them use it from now on."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"language must be one of {', '.join(dict(settings.LANGUAGES))}")
    if user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


def user_keep_language(*, user: User, language: str) -> None:
    """On sign-up or log-in: a person who never chose keeps the language they are reading in, so
    what is later sent to them (alerts, updates, digests) is in that language too."""
    if not user.language and language in dict(settings.LANGUAGES):
        user_set_language(user=user, language=language)
