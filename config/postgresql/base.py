"""Django's PostgreSQL backend, with a health check that needs no round trip when it can tell.

With CONN_HEALTH_CHECKS, Django sends SELECT 1 before each request's first query on a persistent
connection, so that a connection the server dropped (a restart, a failover, an idle timeout) is
replaced instead of failing the request. That was one of the six round trips of a filing. A server
that ends a connection says so and closes its end first, which leaves the idle socket readable; a
connection the server still holds has nothing to read. So: nothing to read, and psycopg knows of
no trouble, means usable; anything else is decided by Django's SELECT 1, as before.

It also offers prepared_cursor(), for the few statements of fixed shape on hot paths, and reads
timestamps with psycopg's compiled loader. Django registers a loader written in
Python (psycopg's pure-Python one, then a replace() of the time zone) on every connection, which
made reading the timestamps of an Open311 page a cost of its own (docs/benchmarks.md). In UTC, the
only time zone Django gives connections when USE_TZ is on and DATABASES has no TIME_ZONE, the
compiled loader answers the same datetimes (tzinfo datetime.timezone.utc) by itself.
"""

from __future__ import annotations

import select
from datetime import UTC
from typing import Any, cast

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base, operations
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


_ServerBindingCursor: Any = base.ServerBindingCursor  # psycopg's, with Django's callproc()


class PreparingCursor(_ServerBindingCursor):
    """Sends parameters apart from the SQL and has the server prepare each statement, once per
    connection: later executions are neither parsed nor planned again."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("prepare", True)
        return super().execute(query, params, **kwargs)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:  # type: ignore[override]  # Django's returns None too
        """What query logging shows (DEBUG, tests): a prepared statement's SQL with its values,
        as Django shows its own cursors' queries."""
        if isinstance(cursor, PreparingCursor):
            try:
                return str(self.compose_sql(sql, params))
            except psycopg.errors.DataError:
                return None
        return cast(str | None, super().last_executed_query(cursor, sql, params))


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.timezone == UTC:
            connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
        if settings.FIXPOINT_PREPARED_STATEMENTS:
            # Django leaves it at None, which refuses even an explicit prepare=True. Its own
            # cursors bind on the client and never prepare: only PreparingCursor does.
            connection.prepare_threshold = 0
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

    def prepared_cursor(self) -> Any:
        """A cursor whose statements the server prepares (FIXPOINT_PREPARED_STATEMENTS), for SQL
        of fixed shape sent again and again: a report by ref, an API key, the filing.

        Only for those: Django's own cursors bind on the client and prepare nothing, which suits
        the many varied reads. Preparing every statement a connection repeated (psycopg's
        prepare_threshold) was tried: PostgreSQL then switched a report list filtered by a
        bounding box to a generic plan that scanned the whole latitude band, four times slower
        (docs/benchmarks.md). Wrapped as Django's cursors are, so query logging and
        execute_wrapper() see it."""
        if not settings.FIXPOINT_PREPARED_STATEMENTS:
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            # Django's own wrapping (thread check, debug logging), as cursor() does it.
            return cast(Any, self)._prepare_cursor(PreparingCursor(self.connection))
