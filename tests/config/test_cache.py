"""The Redis cache backend keeps one client per pool, behaves like Django's, and answers from the
process's memory while Redis cannot be reached (a private redis-server, stopped by the test)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from django.core.cache.backends.locmem import LocMemCache

from config import cache as config_cache
from config.cache import RedisCache, count_many, reconnected, unreachable
from tests.reports.workers import RedisServer


@pytest.fixture
def server() -> Iterator[RedisServer]:
    redis_server = RedisServer()
    redis_server.start()
    yield redis_server
    redis_server.stop()


def test_the_redis_cache_reuses_its_client_and_stores_values(server):
    cache = RedisCache(server.url, {"KEY_PREFIX": "fixpoint-test-cache"})
    cache.set("answer", {"n": 42}, timeout=30)
    assert cache.get("answer") == {"n": 42}
    assert cache.add("counter", 1) is True
    assert cache.incr("counter") == 2
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client() is client  # one server: reads share the pool


def test_clear_with_a_key_prefix_deletes_only_the_keys_under_it(server):
    # Parallel test processes share one database, each under its own prefix: one's clear()
    # must not empty the other's cache (Django's backend sends FLUSHDB).
    mine = RedisCache(server.url, {"KEY_PREFIX": "run-gw0"})
    theirs = RedisCache(server.url, {"KEY_PREFIX": "run-gw1"})
    glob = RedisCache(server.url, {"KEY_PREFIX": "run-*"})  # taken literally, not as a pattern
    for n in range(1500):  # more than one batch
        mine.set(f"k{n}", n, 60)
    theirs.set("k1", "kept", 60)
    glob.set("k1", "glob", 60)

    mine.clear()
    glob.clear()

    assert mine.get_many(["k1", "k1499"]) == {} and glob.get("k1") is None
    assert theirs.get("k1") == "kept"
    RedisCache(server.url, {}).clear()  # no prefix: the whole database, as Django does
    assert theirs.get("k1") is None


@pytest.fixture
def quick_retry(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(config_cache, "RETRY_SECONDS", 0.2)
    return 0.2


def test_with_redis_stopped_every_operation_answers_from_the_process_memory(server, caplog):
    cache = RedisCache(server.url, {})
    cache.set("kept", "in redis")
    server.stop()

    with caplog.at_level(logging.WARNING, logger="config.cache"):
        assert cache.get("kept") is None  # a miss: the caller computes it
        cache.set("tile", "computed", 30)
        assert cache.get("tile") == "computed"
        assert cache.get_many(["tile", "kept"]) == {"tile": "computed"}
        assert cache.add("mark", 1, 30) is True and cache.add("mark", 1, 30) is False
        assert cache.incr("mark") == 2
        cache.set_ints({"v1": 5, "v2": 6}, 30)
        assert cache.get_many(["v1", "v2"]) == {"v1": 5, "v2": 6}
        assert cache.incr_many([("a", 60), ("b", 60)]) == [1, 1]
        assert cache.incr_many([("a", 60), ("b", 60)]) == [2, 2]
        cache.delete_many(["v1", "v2"])
        assert cache.has_key("v1") is False and cache.touch("tile", 60) is True
        cache.clear()
        assert unreachable(cache)
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # one line, not one per call


def test_redis_is_asked_again_after_the_retry_pause_and_the_process_memory_is_dropped(
    server, quick_retry
):
    cache = RedisCache(server.url, {})
    heard: list[object] = []

    def listener(backend: object, **_: object) -> None:
        heard.append(backend)

    reconnected.connect(listener)
    try:
        server.stop()
        cache.set("during", "memory")
        assert unreachable(cache)
        server.start()  # same port, empty
        assert unreachable(cache)  # within the pause: not asked yet
        time.sleep(quick_retry + 0.1)

        assert cache.get("during") is None  # from Redis again, not from the memory
        assert not unreachable(cache) and heard == [cache]
        cache.set("after", 1)
        assert cache.get("after") == 1
    finally:
        reconnected.disconnect(listener)


def test_a_frozen_redis_costs_one_timeout_then_the_memory_answers_at_once(server):
    cache = RedisCache(server.url, {"OPTIONS": {"socket_timeout": 0.3}})
    cache.set("warm", 1)  # a connection in the pool
    server.freeze()
    try:
        started = time.monotonic()
        assert cache.get("warm") is None
        first = time.monotonic() - started
        started = time.monotonic()
        for n in range(100):
            cache.add(f"k{n}", n, 30)
        assert 0.3 <= first < 3 and time.monotonic() - started < 0.1
    finally:
        server.thaw()


def test_connection_timeouts_are_bounded_unless_the_cache_url_says_otherwise():
    default = RedisCache("redis://127.0.0.1:6379/9", {})
    chosen = RedisCache("redis://127.0.0.1:6379/9", {"OPTIONS": {"socket_timeout": 7}})

    assert default._options["socket_connect_timeout"] == 1.0
    assert default._options["socket_timeout"] == 2.0
    assert chosen._options["socket_timeout"] == 7


def test_counters_count_the_same_on_every_backend(server):
    redis_cache = RedisCache(server.url, {"KEY_PREFIX": "counting"})
    memory = LocMemCache("counting", {})
    for backend in (redis_cache, memory):
        assert count_many([("x", 60), ("y", 60)], backend) == [1, 1]
        assert count_many([("x", 60)], backend) == [2]
        assert count_many([], backend) == []


def test_redis_counters_each_live_their_own_seconds_and_count_on_after_a_redis_restart(server):
    cache = RedisCache(server.url, {"KEY_PREFIX": "ttl"})
    assert cache.incr_many([("minute", 61), ("window", 601)]) == [1, 1]
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_key("minute")) <= 61
    assert 61 < client.ttl(cache.make_key("window")) <= 601
    client.expire(cache.make_key("minute"), 5)
    assert cache.incr_many([("minute", 61)]) == [2]
    assert client.ttl(cache.make_key("minute")) > 5  # each count sets the expiry again

    server.stop()
    server.start()  # empty: the script is gone from its cache, and is sent again
    assert cache.incr_many([("minute", 61), ("window", 601)]) == [1, 1]
    assert not unreachable(cache)  # counted by Redis, not in this process's memory
    assert client.get(cache.make_key("window")) == b"1"
