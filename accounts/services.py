"""Writes to accounts: API clients and their keys."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from config.compiled import CompiledQuery, field_names, instance

from .models import ApiClient, ApiScope, User


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_client_create(
    *, name: str, scope: str = ApiScope.READ, user: User | None = None
) -> tuple[ApiClient, str]:
    """Create a client and return it with its key, which is never stored and never shown again."""
    if scope not in ApiScope.values:
        raise ValueError(f"scope must be one of {', '.join(ApiScope.values)}")
    key = f"fp_{secrets.token_urlsafe(32)}"
    client = ApiClient.objects.create(
        name=name, scope=scope, user=user, prefix=key[:11], key_hash=key_hash(key)
    )
    return client, key


def api_client_for_key(key: str) -> ApiClient | None:
    """The active client with this key, or None. Records when it was last used."""
    if not key:
        return None
    client = _client_with_user(key_hash(key))
    if client is not None:
        # One cheap UPDATE, skipped within a minute of the last one to spare busy clients.
        now = timezone.now()
        if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return client


# Every API-key request runs this; as an ORM query with select_related it cost 0.55 ms, compiled
# once 0.15 ms. The sample is no SHA-256 hex digest (those are 64 hex digits).
_BY_HASH = CompiledQuery(
    lambda digest: ApiClient.objects.filter(key_hash=digest, is_active=True).values(
        *field_names(ApiClient), *field_names(User, "user__")
    ),
    "not a key hash",
)


def _client_with_user(digest: str) -> ApiClient | None:
    rows = _BY_HASH.run(digest)
    if not rows:
        return None
    client = instance(ApiClient, rows[0])
    client.user = instance(User, rows[0], "user__") if client.user_id is not None else None
    return client
