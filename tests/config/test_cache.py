"""The Redis cache backend keeps one client per pool and behaves like Django's."""

from __future__ import annotations

from config.cache import RedisCache


def test_the_redis_cache_reuses_its_client_and_stores_values():
    cache = RedisCache("redis://127.0.0.1:6379/9", {"KEY_PREFIX": "fixpoint-test-cache"})
    try:
        cache.set("answer", {"n": 42}, timeout=30)
        assert cache.get("answer") == {"n": 42}
        cache.delete("counter")
        assert cache.add("counter", 1) is True
        assert cache.incr("counter") == 2
        client = cache._cache.get_client(write=True)
        assert cache._cache.get_client(write=True) is client
        assert cache._cache.get_client() is client  # one server: reads share the pool
    finally:
        cache.delete_many(["answer", "counter"])
