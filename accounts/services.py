"""Writes to accounts: API clients and their keys."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

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
    client = (
        ApiClient.objects.select_related("user")
        .filter(key_hash=key_hash(key), is_active=True)
        .first()
    )
    if client is not None:
        # One cheap UPDATE, skipped within a minute of the last one to spare busy clients.
        now = timezone.now()
        if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return client
