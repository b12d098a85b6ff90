"""Django's PostgreSQL backend, with a health check that needs no round trip when it can tell.

With CONN_HEALTH_CHECKS, Django sends SELECT 1 before each request's first query on a persistent
connection, so that a connection the server dropped (a restart, a failover, an idle timeout) is
replaced instead of failing the request. That was one of the six round trips of a filing. A server
that ends a connection says so and closes its end first, which leaves the idle socket readable; a
connection the server still holds has nothing to read. So: nothing to read, and psycopg knows of
no trouble, means usable; anything else is decided by Django's SELECT 1, as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
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
