"""Reads that may be a second stale, served by a streaming read replica (DATABASE_REPLICA_URL).

A view opts in with ``@replica_reads`` (the only way reads reach the replica): the map, the
public lists, statistics, exports, Open311's reads. While such a view runs on a GET or HEAD,
ReplicaRouter sends the ORM's reads to the "replica" alias; everything else reads and writes the
primary ("default"). Read-your-own-writes is kept by four rules, all here:

- every write goes to the primary, and a write pins the rest of its request to the primary
  (unless the view says it never reads back what it writes: ``own_writes_unread``, the export's
  audit row);
- the answer to any unsafe request (POST, PUT, PATCH, DELETE), and to any request that wrote,
  sets a cookie that pins that client to the primary for FIXPOINT_REPLICA_PIN_SECONDS: a citizen
  who has just filed sees the report on the map and in the lists at once;
- a 404 (an Http404 raised, or a 404 answered) from the replica is asked again of the primary:
  a program that filed a report a moment ago and asks for it by id (it keeps no cookie) gets it;
- code that must see the latest data inside an opted-in view says so with ``primary_reads()``
  (the map computes tiles that changed within the pin window there: see reports.map.tiles).

The pin window must stay well above the replica's lag (bench/cluster.py measures it: under a
second). Without DATABASE_REPLICA_URL there is no router, no middleware and no replica alias, and
the decorator only checks that and calls the view. Raw SQL does not pass through the router: a
raw read in an opted-in view takes its cursor from ``read_connection(Model)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.http import Http404, HttpRequest

REPLICA = "replica"
PIN_COOKIE = "fixpoint_primary"
SAFE_METHODS = frozenset({"GET", "HEAD"})

V = TypeVar("V", bound=Callable[..., Any])


@dataclass
class _Reads:
    """Where the current request (or the part of it running now) may read."""

    replica: bool = False  # inside an opted-in view, for a client not pinned
    wrote: bool = False  # the request has written (through the ORM)
    own_writes_unread: bool = False  # the view never reads back what it writes


_current: ContextVar[_Reads | None] = ContextVar("fixpoint_replica_reads", default=None)


def configured() -> bool:
    return REPLICA in connections.settings


def pin_seconds() -> int:
    return int(getattr(settings, "FIXPOINT_REPLICA_PIN_SECONDS", 5))


class ReplicaRouter:
    """DATABASE_ROUTERS entry when DATABASE_REPLICA_URL is set."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        reads = _current.get()
        if reads is not None and reads.replica and (reads.own_writes_unread or not reads.wrote):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        reads = _current.get()
        if reads is not None:
            reads.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Rows read from either side are the same rows.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # A physical copy of the primary: migrated by the primary's WAL, never by itself.
        return False if db == REPLICA else None


class ReplicaPinMiddleware:
    """Tracks whether a request wrote, and pins the client that wrote to the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        reads = _Reads()
        token = _current.set(reads)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        if reads.wrote or request.method not in SAFE_METHODS:
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=pin_seconds(),
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


def replica_reads(view: V | None = None, *, own_writes_unread: bool = False) -> Any:
    """Let a view's reads go to the replica (GET and HEAD, client not pinned). Works on
    function views and on view methods (self, request, ...), e.g. a DRF viewset's ``list``.
    Outermost, so that a 404 from the replica is seen and asked again of the primary."""

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            request = _request_of(args)
            if not configured() or request.method not in SAFE_METHODS:
                return view(*args, **kwargs)
            if PIN_COOKIE in request.COOKIES:
                return view(*args, **kwargs)
            try:
                response = _on_replica(view, args, kwargs, own_writes_unread)
            except Http404:
                return view(*args, **kwargs)  # perhaps filed a moment ago: the primary knows
            if response.status_code == 404:
                return view(*args, **kwargs)
            return response

        wrapped.replica_reads = True  # type: ignore[attr-defined]  # found by the tests
        return wrapped  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


def _request_of(args: tuple[Any, ...]) -> Any:
    for arg in args[:2]:  # (request, ...) or (self, request, ...)
        if isinstance(arg, HttpRequest) or isinstance(getattr(arg, "_request", None), HttpRequest):
            return arg
    raise TypeError("@replica_reads decorates views: no request among the first arguments.")


def _on_replica(
    view: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], unread: bool
) -> Any:
    outer = _current.get()
    reads = _Reads(replica=True, wrote=bool(outer and outer.wrote), own_writes_unread=unread)
    with _reading(reads, outer):
        response = view(*args, **kwargs)
    if getattr(response, "streaming", False):  # the body reads after the view has returned
        response.streaming_content = _streamed(response.streaming_content, reads, outer)
    return response


@contextmanager
def _reading(reads: _Reads, outer: _Reads | None) -> Iterator[None]:
    token = _current.set(reads)
    try:
        yield
    finally:
        _current.reset(token)
        if outer is not None:
            outer.wrote = outer.wrote or reads.wrote


def _streamed(chunks: Iterable[Any], reads: _Reads, outer: _Reads | None) -> Iterator[Any]:
    """The streamed body, each chunk made under the view's rules (it may be sent long after)."""
    iterator = iter(chunks)
    while True:
        with _reading(reads, outer):
            chunk = next(iterator, _END)
        if chunk is _END:
            return
        yield chunk


_END = object()


@contextmanager
def primary_reads() -> Iterator[None]:
    """Reads inside this block go to the primary, even in an opted-in view."""
    outer = _current.get()
    if outer is None or not outer.replica:
        yield
        return
    with _reading(_Reads(replica=False, wrote=outer.wrote), outer):
        yield


def read_connection(model: type[Model]) -> BaseDatabaseWrapper:
    """The connection a raw read of ``model``'s table should use (the router's choice)."""
    return connections[router.db_for_read(model)]
