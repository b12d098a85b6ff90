"""Django's PostgreSQL backend, with a health check that needs no round trip when it can tell.

With CONN_HEALTH_CHECKS, Django sends SELECT 1 before each request's first query on a persistent
connection, so that a connection the server dropped (a restart, a failover, an idle timeout) is
replaced instead of failing the request. That was one of the six round trips of a filing. A server
that ends a connection says so and closes its end first, which leaves the idle socket readable; a
connection the server still holds has nothing to read. So: nothing to read, and psycopg knows of
no trouble, means usable; anything else is decided by Django's SELECT 1, as before.

It also reads timestamps with psycopg's compiled loader. Django registers a loader written in
Python (psycopg's pure-Python one, then a replace() of the time zone) on every connection; reading
the two timestamps of each row of an Open311 page of 100 took about 0.5 ms with it. In UTC, the
only time zone Django gives connections when USE_TZ is on and DATABASES has no TIME_ZONE, the
compiled loader answers the same datetimes (tzinfo datetime.timezone.utc) by itself.
"""

from __future__ import annotations

import select
from datetime import UTC
from typing import Any, cast

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq

_TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid


_COMPILED_LOADER = cast(Any, psycopg.adapters.get_loader(_TIMESTAMPTZ, pq.Format.TEXT))


class UtcTimestamptzLoader:
    """Makes psycopg's default timestamptz loader (compiled, with psycopg[binary], and final,
    so not a base class). ``timezone`` is what Django's create_cursor() compares with the
    connection's before registering its own loader on a cursor."""

    timezone = UTC
    format = pq.Format.TEXT

    def __new__(cls, oid: int, context: Any = None) -> Any:
        return _COMPILED_LOADER(oid, context)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.timezone == UTC:
            connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
        return connection

    def is_usable(self) -> bool:
        connection = self.connection
        if (
            connection is not None
            and not connection.closed
            and not connection.broken
            and connection.info.transaction_status == pq.TransactionStatus.IDLE
        ):
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
            if not readable:
                return True
        return bool(super().is_usable())
