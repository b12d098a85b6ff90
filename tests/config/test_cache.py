"""The Redis cache backend keeps one client per pool, behaves like Django's, and answers from the
process's memory while Redis cannot be reached (a private redis-server, stopped by the test)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

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
        assert cache.incr_many([("a", 60, 9), ("b", 60, 9)]) == [1, 1]
        assert cache.incr_many([("a", 60, 9), ("b", 60, 9)]) == [2, 2]
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
        assert count_many([("x", 60, 100), ("y", 60, 100)], backend) == [1, 1]
        assert count_many([("x", 60, 100)], backend) == [2]
        assert count_many([], backend) == []


def test_redis_counters_each_live_their_own_seconds_and_count_on_after_a_redis_restart(server):
    cache = RedisCache(server.url, {"KEY_PREFIX": "ttl"})
    # Limits of 1: every count is over half the limit, so each is counted by Redis at once.
    assert cache.incr_many([("minute", 61, 1), ("window", 601, 1)]) == [1, 1]
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_key("minute")) <= 61
    assert 61 < client.ttl(cache.make_key("window")) <= 601
    client.expire(cache.make_key("minute"), 5)
    assert cache.incr_many([("minute", 61, 1)]) == [2]
    assert client.ttl(cache.make_key("minute")) > 5  # each count sets the expiry again

    server.stop()
    server.start()  # empty: the script is gone from its cache, and is sent again
    assert cache.incr_many([("minute", 61, 1), ("window", 601, 1)]) == [1, 1]
    assert not unreachable(cache)  # counted by Redis, not in this process's memory
    assert client.get(cache.make_key("window")) == b"1"


def stored(cache: RedisCache, key: str) -> int:
    client: Any = cache._cache.get_client(write=True)  # redis-py's stubs allow async answers
    value = client.get(cache.make_key(key))
    return 0 if value is None else int(value)


@pytest.fixture
def slow_settling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_cache, "SETTLE_SECONDS", 60.0)  # no settlement by time


def test_far_below_its_limit_a_count_is_kept_in_the_process_until_it_settles(server, slow_settling):
    cache = RedisCache(server.url, {"KEY_PREFIX": "tally"})
    assert [cache.incr_many([("w", 61, 100)])[0] for _ in range(5)] == [1, 2, 3, 4, 5]
    assert stored(cache, "w") == 1  # the first count was Redis's; the next four wait here

    config_cache.SETTLE_SECONDS = 0.0  # due: the next count sends the four and itself
    assert cache.incr_many([("w", 61, 100), ("other", 61, 100)]) == [6, 1]
    assert stored(cache, "w") == 6 and stored(cache, "other") == 1
    assert 0 < cache._cache.get_client(write=True).ttl(cache.make_key("w")) <= 61


def test_over_half_its_limit_every_count_is_redis_own_with_what_the_process_kept(
    server, slow_settling
):
    cache = RedisCache(server.url, {"KEY_PREFIX": "tally"})
    counts, kept_in_redis = [], []
    for _ in range(6):
        counts += cache.incr_many([("w", 61, 6)])
        kept_in_redis.append(stored(cache, "w"))
    assert counts == [1, 2, 3, 4, 5, 6]
    assert kept_in_redis == [1, 1, 1, 4, 5, 6]  # 2 and 3 were kept here, then sent with 4


def test_several_processes_never_reach_a_limit_early_and_see_each_others_counts(
    server, slow_settling
):
    one = RedisCache(server.url, {"KEY_PREFIX": "tally"})
    two = RedisCache(server.url, {"KEY_PREFIX": "tally"})  # another web worker
    limit = 10
    seen = []
    for _ in range(6):
        seen += one.incr_many([("w", 61, limit)]) + two.incr_many([("w", 61, limit)])
    # The sixth count of each is past half the limit: from there, each asks Redis, which
    # holds everything both sent; no count is ever more than the true total so far.
    assert seen[-1] == 12 and stored(one, "w") == 12
    assert all(count <= n for n, count in enumerate(seen, start=1))
    assert sum(count > limit for count in seen) == 2  # the 11th and 12th are refused


def test_a_counter_kept_in_the_process_is_asked_again_after_redis_went_away(server, slow_settling):
    cache = RedisCache(server.url, {"KEY_PREFIX": "tally"})
    cache.incr_many([("w", 61, 100)])
    cache.incr_many([("w", 61, 100)])  # kept here
    server.stop()
    config_cache.SETTLE_SECONDS = 0.0
    assert cache.incr_many([("w", 61, 100)]) == [1]  # in this process's memory meanwhile
    assert cache._tally.known == {} and cache._tally.unsent == {}


def test_after_the_cache_is_emptied_a_counter_counts_from_one_again(server, slow_settling):
    cache = RedisCache(server.url, {"KEY_PREFIX": "tally"})
    assert [cache.incr_many([("w", 61, 100)])[0] for _ in range(3)] == [1, 2, 3]
    cache.clear()
    assert cache.incr_many([("w", 61, 100)]) == [1]  # not 4 from what the process remembered
    assert stored(cache, "w") == 1
