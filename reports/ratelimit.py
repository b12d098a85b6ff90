"""A fixed-window counter in the cache (Redis in production, shared by every web process)."""

from __future__ import annotations

from django.core.cache import cache


def allow(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt under key; False once more than `limit` happened in the window."""
    cache_key = f"ratelimit:{key}"
    if cache.add(cache_key, 1, timeout=window_seconds):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this is the first attempt again
        cache.add(cache_key, 1, timeout=window_seconds)
        return True
    return count <= limit


def client_ip(request: object) -> str:
    # REMOTE_ADDR is the proxy's address behind a load balancer; gunicorn is expected to be
    # started with --forwarded-allow-ips so that it is rewritten to the client's.
    meta = getattr(request, "META", {})
    return str(meta.get("REMOTE_ADDR", "unknown"))
