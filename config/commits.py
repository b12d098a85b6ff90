"""Commits that need not wait for the disk.

A PostgreSQL commit waits until its write-ahead log is on disk: about 4 ms on the benchmark
machine's disk (docs/benchmarks.md), more than the rest of a filing's database work. That wait is
what makes a filed report survive a power cut, and a filing keeps it. The outbox's bookkeeping
does not need it: a row claimed for sending, or the outcome of a send. PostgreSQL writes its log
in order, so the next durable commit (the next filing) takes these to disk too, and other
connections see them as soon as the commit returns. A crash of the database itself can lose the
last fraction of a second of them (at most three times ``wal_writer_delay``): a delivery is then
found in "sending" and sent again with the same Message-ID or idempotency key, which is what a
worker killed in mid-send already gets (reports.delivery.outbox).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction


@contextmanager
def unflushed_transaction(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """A transaction whose commit returns before its log is on disk (on PostgreSQL; other
    databases commit as they always do). Inside a caller's transaction it is only a block of
    that one, whose commit keeps its own rule: a filing that records an outcome stays durable."""
    connection = connections[using]
    own = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if own and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
