"""What runs after a commit, in one place: ``after_commit`` instead of ``transaction.on_commit``.

Once a transaction has committed, the request or task that made it must answer as committed: an
error raised by the work that follows (waking a worker, queueing a task, bumping the map's tiles,
any of which needs Redis) would turn a saved filing into a 500, and a client that retries would
file it twice. So every callback is robust: an exception is logged with the callback's name and
goes no further. Everything such a callback does is redone by a periodic re-drive or is only an
optimisation, because the rows written in the transaction are the truth. A test checks that
nothing else in Fixpoint calls ``on_commit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction


def after_commit(func: Callable[..., object], *args: Any, using: str | None = None) -> None:
    """Run ``func(*args)`` after the current transaction commits (at once outside one); an
    exception it raises is logged, never raised."""

    def run() -> None:
        func(*args)

    # Django logs a failed robust callback by its __qualname__ (a partial has none).
    run.__qualname__ = getattr(func, "__qualname__", repr(func))
    transaction.on_commit(run, using=using, robust=True)
