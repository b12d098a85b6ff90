"""The embedded worker: without a broker, Celery tasks run in this process on one thread of their
own, after the request that queued them has answered.

Why: without a broker (``make run``, a small council's single server) a task queued by a request
used to run inside that request, so a citizen's filing waited for its follow-up (subscription,
area alerts, the delivery row) and for the delivery itself (claiming it, composing and sending
the council's e-mail, three more commits): about two thirds of the request's time. Here the
request commits the report durably and answers; this thread then does what a Celery worker does
with a broker, in the same order and through the same tasks, within half a second, and meets the
same wake-ups (reports.jobs) so that a burst of filings is followed up in batches.

What is queued here lives only in this process's memory, like a message in a broker that keeps
nothing: the rows written before queueing are the truth. A process that exits normally (a
management command, a gunicorn worker told to stop) first finishes what is queued, for up to
``DRAIN_SECONDS``. The thread is also the process's beat for the re-drives
(``settings.REDRIVE_TASKS``, every ``REDRIVE_SECONDS``): what a process killed outright left
due, a delivery's retry after the council's mail server was down, a lost wake-up. It starts
with the process's first request or task, so a server that has just restarted re-drives
without waiting for a filing. Several processes re-driving at once is what beat and the
workers already do: each re-drive takes its rows with ``skip_locked``.

Off with ``EMBEDDED_WORKER=false``: tasks then run in the request that queues them, as Celery's
eager mode does; the test suite runs that way unless a test asks for this thread
(tests/reports/test_embedded_worker.py), so that what a request did is there when it returns.

May import: Django and Celery only.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.signals import request_started
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 30.0
# A wake-up (a task without arguments, which reads every due row) starts once it is this old,
# so that the filings of that moment are followed up and delivered together: a batch of ten
# cost a fifth per report of batches of one or two, which is what a thread woken at once by
# each filing got, and lingering 0.4 s instead of 0.1 s cut a busy server's CPU per filing by
# a sixth again (1.0 s gained nothing more; docs/benchmarks.md). Meanwhile the request has long
# answered; the council's e-mail leaves a few tenths of a second later. A wake-up that a task
# of the thread queues starts at once.
LINGER_SECONDS = 0.4
_STOP = ("stop", (), 0.0)


def enabled() -> bool:
    """Whether tasks queued without a broker leave the request for this process's worker
    thread (with a broker, Celery's workers take them and this is never asked)."""
    return bool(getattr(settings, "EMBEDDED_WORKER", False))


class _Worker:
    """One thread per process, started by its first request or task (so after gunicorn forks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._waiting: set[str] = set()  # argument-less tasks queued once until they start
        self._unfinished = 0
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, task: Any, args: tuple[Any, ...]) -> None:
        with self._lock:
            self._start()
            if not args:
                if task.name in self._waiting:
                    return  # queued and not started: it will see what this caller committed
                self._waiting.add(task.name)
            self._unfinished += 1
            queued_at = time.monotonic()
            if threading.current_thread() is self._thread:
                # Woken by this thread's own task (a follow-up batch's deliveries): that batch
                # is made already, and waiting would only delay it (by 0.1 s, each filing).
                queued_at -= LINGER_SECONDS
            self._queue.put((task, args, queued_at))

    def drain(self, timeout: float = DRAIN_SECONDS) -> bool:
        """Wait until every queued task has run; False if some were still running at the end."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._unfinished and self._pid == os.getpid():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def start(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return  # every request asks: no lock once running
        with self._lock:
            self._start()

    def _start(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        # A forked child inherits the parent's queue but not its thread: start afresh.
        self._queue, self._waiting, self._unfinished = queue.SimpleQueue(), set(), 0
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="fixpoint-tasks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = DRAIN_SECONDS) -> None:
        """Finish what is queued, close the thread's connections and end it."""
        with self._lock:
            thread, running = self._thread, self._pid == os.getpid()
            if thread is None or not running:
                return
            self._queue.put(_STOP)
        thread.join(timeout)

    def _run(self) -> None:
        redrive_at = time.monotonic() + settings.REDRIVE_SECONDS
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, redrive_at - time.monotonic()))
            except queue.Empty:
                for name in settings.REDRIVE_TASKS:
                    self._run_one(current_app.tasks[name], ())
                redrive_at = time.monotonic() + settings.REDRIVE_SECONDS
                continue
            if item is _STOP:
                connections.close_all()
                return
            task, args, queued_at = item
            if not args:
                time.sleep(max(0.0, queued_at + LINGER_SECONDS - time.monotonic()))
                with self._lock:
                    self._waiting.discard(task.name)
            self._run_one(task, args)
            with self._idle:
                self._unfinished -= 1
                if not self._unfinished:
                    self._idle.notify_all()

    @staticmethod
    def _run_one(task: Any, args: tuple[Any, ...]) -> None:
        close_old_connections()  # as Celery's Django fix-up does around every task
        try:
            task.apply(args=args, throw=True)
        except Exception:  # its rows stay due: the re-drive sends them
            logger.warning("Task %s%s failed; it will be re-driven", task.name, args, exc_info=True)
        finally:
            close_old_connections()
            if connections["default"].in_atomic_block:  # a task never leaves one open
                connections["default"].close()


_worker = _Worker()


def submit(task: Any, args: tuple[Any, ...] = ()) -> None:
    """Run ``task(*args)`` on this process's worker thread, after what is queued before it. A
    task without arguments (a wake-up that reads every due row) is queued once until it starts."""
    _worker.submit(task, args)


def connect_signals() -> None:
    """Start the thread with the process's first request (called by reports.apps)."""
    request_started.connect(_started, dispatch_uid="embedded-worker")


def _started(**_: Any) -> None:
    if current_app.conf.task_always_eager and enabled():
        _worker.start()


def drain(timeout: float = DRAIN_SECONDS) -> bool:
    """Wait for the worker thread to run everything queued so far (tests, and at exit)."""
    return _worker.drain(timeout)


@atexit.register
def _finish_at_exit() -> None:
    if not drain():
        logger.warning("Exiting with queued tasks unfinished; the re-drive sends their rows")
