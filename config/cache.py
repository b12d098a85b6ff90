"""Django's Redis cache, keeping one redis-py client per connection pool, and answering from the
process's own memory while Redis cannot be reached.

One client per pool: Django's RedisCacheClient builds a new redis.Redis object for every cache
call; with redis-py 5+ that construction costs more than the round trip it wraps (the map's cache
hits, docs/benchmarks.md). A redis.Redis client is thread-safe and only
borrows connections from its pool, so one per pool is enough. CACHE_URL=redis://... selects this
backend.

Redis out of reach: every operation that cannot reach Redis (refused, reset, timed out) is
answered by a cache in this process's memory instead, and none raises. What each use gets:

- reads are misses at first and the callers compute from the database (map tiles skip caching
  altogether while Redis is away, see ``unreachable()``: their freshness needs the shared store);
- counters (API throttles, the filing and login rate limits) count in this process: a limit
  holds per process, so N web processes let through at most N times the limit;
- wake-up marks are not set and no wake-up is sent (reports.jobs): Celery beat re-drives.

After the first failure Redis is left alone for ``RETRY_SECONDS``; then one PING decides. When it
answers again the process forgets what it kept in memory and sends ``reconnected`` before any
other command, so caches that writes lost during the outage would leave stale (the map's tiles)
are invalidated first. One warning is logged when Redis goes, one line when it is back.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis
from django.core.cache import BaseCache, cache
from django.core.cache.backends.base import default_key_func
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# Refused, reset, unreachable, loading, timed out: Redis is not there. Anything else (a wrong
# type, a script error) is a bug and is raised.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)
RETRY_SECONDS = 5.0
# Unless CACHE_URL says otherwise (?socket_connect_timeout=..&socket_timeout=..): a host that
# does not answer must cost a request a second, not the operating system's minutes.
DEFAULT_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}

# Sent (by the backend, before any other command) when Redis answers again after this process
# found it out of reach.
reconnected = Signal()

T = TypeVar("T")


class PooledClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        base: Any = self  # Django's private attributes, which django-stubs does not declare
        index = base._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in base._pools:
                base._pools[index] = base._pool_class.from_url(
                    base._servers[index], **base._pool_options
                )
            client = self._clients[index] = base._client(connection_pool=base._pools[index])
        return client


class ProcessMemory(LocMemCache):
    """What answers while Redis is away: Django's per-process cache, with the same extras."""

    def set_ints(self, values: dict[str, int], timeout: int) -> None:
        self.set_many(values, timeout)

    def incr_many(self, counters: Sequence[Counter]) -> list[int]:
        return [_count(self, key, seconds) for key, seconds, _most in counters]


def _or_memory(method: Callable[..., T]) -> Callable[..., T]:
    """The method on Redis, or, while Redis cannot be reached, the same one on ProcessMemory."""
    name = method.__name__

    @functools.wraps(method)
    def either(self: RedisCache, *args: Any, **kwargs: Any) -> T:
        if self.reachable():
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                self._lost(exc)
        result: T = getattr(self.memory, name)(*args, **kwargs)
        return result

    return either


# SET each key to its value with one expiry, in one command: packing a pipeline of SET ... EX for
# the map's tile versions was a noticeable part of every filing (docs/benchmarks.md); the script
# is sent once, then by its hash.
_SET_EACH = """
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i], 'EX', ARGV[#ARGV]) end
"""


# Add to each counter and set its expiry, in one command: a pipeline of INCRBY and EXPIRE per
# counter cost the client more to pack and parse than the round trip (every API request counts
# its rates). ARGV holds each key's (amount, seconds) in turn; the counts come back in the keys'
# order.
_COUNT_EACH = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCRBY', key, ARGV[2 * i - 1])
  redis.call('EXPIRE', key, ARGV[2 * i])
end
return counts
"""

# How often a process that counts far below the limits settles its counts with Redis.
SETTLE_SECONDS = 0.02
COUNTERS_KEPT = 10_000  # counters this process remembers between settlements

Counter = tuple[str, int, int]  # (key, seconds it lives, the most it may count)


class Tally:
    """This process's share of the counters in Redis, sent in batches while far below their
    limits.

    A round trip to Redis on every API request cost more than the rest of a cheap request
    (about 0.3 ms of a web worker's CPU at 0.9 ms without it: docs/benchmarks.md). So a
    counter is asked of Redis (counted there at once, the answer waited for) the first time
    this process counts it, whenever the count would come to more than half its limit, and at
    least every SETTLE_SECONDS while this process counts; in between, a count far below the
    limit is added here and sent with the next settlement.

    The count a caller gets is then Redis's last answer plus what this process has counted since:
    exact in one process, and across processes short by at most what the others counted in
    their last SETTLE_SECONDS. A limit is never reached early; near a limit (more than half of
    it) every count is Redis's own; a client far below it that then sends more than half its
    limit within SETTLE_SECONDS to several processes may pass it by what those processes had not
    yet sent.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.known: dict[str, int] = {}  # Redis's last count, with this process's sent counts
        self.unsent: dict[str, tuple[int, int]] = {}  # key: (counts not sent, seconds it lives)
        self.settled_at = time.monotonic()

    def count_here(self, name: str, limit: int) -> int | None:
        """The count after one more, if it may be counted here without asking Redis."""
        known = self.known.get(name)
        if known is None:
            return None
        unsent = self.unsent.get(name, (0, 0))[0]
        if known + unsent + 1 > limit // 2 or self.due():
            return None
        return known + unsent + 1

    def due(self) -> bool:
        return time.monotonic() - self.settled_at >= SETTLE_SECONDS

    def forget(self) -> None:
        """Ask Redis afresh: its counters may be gone (emptied, restarted) or unknown."""
        with self.lock:
            self.known.clear()
            self.unsent.clear()


_GLOB_SPECIAL = re.compile(r"[*?\[\]\\]")  # taken literally in a SCAN MATCH when escaped


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = {**params, "OPTIONS": {**DEFAULT_TIMEOUTS, **params.get("OPTIONS", {})}}
        super().__init__(server, params)
        self._class = PooledClientRedisCacheClient
        self._set_each: Any = None
        self._count_each: Any = None
        self._tally = Tally()
        self.memory = ProcessMemory(f"fixpoint-redis-fallback-{id(self)}", {"MAX_ENTRIES": 10_000})
        self._retry_at: float | None = None  # set while Redis is out of reach
        self._lock = threading.Lock()

    # --- reachability ---------------------------------------------------------------------------

    def reachable(self) -> bool:
        """Whether commands go to Redis now. While it is out of reach, one caller every
        RETRY_SECONDS asks it with a PING (the others keep answering from memory)."""
        if self._retry_at is None:
            return True
        with self._lock:
            if self._retry_at is None or time.monotonic() < self._retry_at:
                return self._retry_at is None
            self._retry_at = time.monotonic() + RETRY_SECONDS  # this caller probes
        try:
            self._cache.get_client(write=True).ping()
        except UNREACHABLE:
            return False
        self._back()
        return True

    def _lost(self, exc: Exception) -> None:
        with self._lock:
            first = self._retry_at is None
            self._retry_at = time.monotonic() + RETRY_SECONDS
        if first:
            logger.warning(
                "Redis cache out of reach (%s): answering from this process's memory, "
                "trying again every %s s",
                exc,
                RETRY_SECONDS,
            )

    def _back(self) -> None:
        with self._lock:
            self._retry_at = None
        self.memory.clear()
        self._tally.forget()  # a restarted Redis holds no counters
        logger.warning("Redis cache reachable again")
        reconnected.send(sender=type(self), backend=self)

    # --- every operation, on Redis or in memory ------------------------------------------------

    add = _or_memory(DjangoRedisCache.add)
    get = _or_memory(DjangoRedisCache.get)
    set = _or_memory(DjangoRedisCache.set)
    touch = _or_memory(DjangoRedisCache.touch)
    delete = _or_memory(DjangoRedisCache.delete)
    get_many = _or_memory(DjangoRedisCache.get_many)
    has_key = _or_memory(DjangoRedisCache.has_key)
    incr = _or_memory(DjangoRedisCache.incr)
    set_many = _or_memory(DjangoRedisCache.set_many)
    delete_many = _or_memory(DjangoRedisCache.delete_many)

    @_or_memory
    def clear(self) -> None:
        """Empty the cache. With a KEY_PREFIX only the keys under it go: several sites, or the
        processes of one parallel test run, may share a database each under its own prefix, and
        Django's backend empties the whole database (FLUSHDB). Without one, FLUSHDB as Django."""
        self._tally.forget()  # the counters go too: this process's counts of them with them
        client = self._cache.get_client(write=True)
        if not self.key_prefix or self.key_func is not default_key_func:
            client.flushdb()
            return
        pattern = _GLOB_SPECIAL.sub(r"\\\g<0>", self.key_prefix) + ":*"  # prefix:version:key
        names: list[bytes] = []
        for name in client.scan_iter(match=pattern, count=1000):
            names.append(name)
            if len(names) == 1000:
                client.unlink(*names)
                names.clear()
        if names:
            client.unlink(*names)

    @_or_memory
    def set_ints(self, values: dict[str, int], timeout: int) -> None:
        """set_many for int values (which Django's Redis serializer stores as plain numbers)."""
        client = self._cache.get_client(write=True)
        if self._set_each is None:
            self._set_each = client.register_script(_SET_EACH)
        keys = [self.make_key(key) for key in values]  # callers' keys: short, no spaces
        self._set_each(keys=keys, args=[*values.values(), int(timeout)], client=client)

    @_or_memory
    def incr_many(self, counters: Sequence[Counter]) -> list[int]:
        """Add one to each (key, seconds it lives, limit) counter; the new counts. One round
        trip at most, and none while far below every limit between settlements (Tally). A
        counter starts at 1, and its expiry is set again whenever Redis counts it."""
        names = [self.make_and_validate_key(key) for key, _seconds, _most in counters]
        tally = self._tally
        with tally.lock:
            here = [
                tally.count_here(name, most)
                for name, (_key, _seconds, most) in zip(names, counters, strict=True)
            ]
            if None not in here:
                for name, (_key, seconds, _most) in zip(names, counters, strict=True):
                    tally.unsent[name] = (tally.unsent.get(name, (0, 0))[0] + 1, seconds)
                return [count for count in here if count is not None]
            try:
                return self._settle(names, counters)
            except Exception:
                tally.forget()  # what Redis holds is not known now: ask it again
                raise

    def _settle(self, names: list[str], counters: Sequence[Counter]) -> list[int]:
        """Count these counters in Redis, with every count this process has not sent yet."""
        tally = self._tally
        amounts = {name: tally.unsent.pop(name, (0, 0))[0] + 1 for name in names}
        lives = {name: c[1] for name, c in zip(names, counters, strict=True)}
        for name, (unsent, seconds) in tally.unsent.items():
            amounts[name], lives[name] = unsent, seconds
        tally.unsent.clear()
        client = self._cache.get_client(names[0], write=True)
        if self._count_each is None:
            self._count_each = client.register_script(_COUNT_EACH)
        args = [number for name in amounts for number in (amounts[name], int(lives[name]))]
        counts = self._count_each(keys=list(amounts), args=args, client=client)
        if len(tally.known) > COUNTERS_KEPT:  # old windows' counters: ask Redis afresh
            tally.known.clear()
        tally.known.update(zip(amounts, (int(count) for count in counts), strict=True))
        tally.settled_at = time.monotonic()
        return [tally.known[name] for name in names]


def count_many(counters: Sequence[Counter], backend: BaseCache = cache) -> list[int]:
    """Add one to each (key, seconds it lives, the most it may count) counter in ``backend``;
    the new counts. On Redis, one round trip at most (none while far below the limits, see
    Tally; counted in this process while Redis is out of reach); any other backend counts one
    by one. Keys name their window: a counter is not expected to outlive it."""
    if not counters:
        return []
    many = getattr(backend, "incr_many", None)
    if many is not None:
        return list(many(counters))
    return [_count(backend, key, seconds) for key, seconds, _most in counters]


def _count(backend: BaseCache, key: str, seconds: int) -> int:
    if backend.add(key, 1, seconds):
        return 1
    try:
        return int(backend.incr(key))
    except ValueError:  # expired between the two calls: this one opens the count again
        backend.set(key, 1, seconds)
        return 1


def unreachable(backend: BaseCache = cache) -> bool:
    """Whether the cache every process shares is out of reach now, so this process answers from
    its own memory: anything whose freshness depends on the others' writes must not be read from
    it (the map's tiles), and nothing should be asked of the workers through it (wake-ups)."""
    reachable = getattr(backend, "reachable", None)
    return reachable is not None and not reachable()
