"""Queueing Celery tasks so that a broker outage never reaches the caller.

Every task Fixpoint queues reads rows that are already committed (a delivery, a notification, a
filed report to follow up), and Celery beat re-drives those rows every minute. A task that cannot
be queued therefore delays work and loses none, so ``publish`` logs and answers False instead of
raising. A broker that is down costs each attempt about 0.7 s of connection retries (kombu's), so
after a failure this process queues nothing for ``RETRY_SECONDS`` (the rows wait for the re-drive,
or for the next publish after the pause). Every task is queued through here.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kombu.exceptions import OperationalError

from config import embedded

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0


class _Pause:
    def __init__(self) -> None:
        self.until: float | None = None
        self.lock = threading.Lock()

    def active(self) -> bool:
        until = self.until
        return until is not None and time.monotonic() < until

    def start(self) -> bool:
        """Pause publishing; True if the broker was thought up until now."""
        with self.lock:
            first = self.until is None
            self.until = time.monotonic() + RETRY_SECONDS
        return first

    def end(self) -> None:
        if self.until is not None:
            with self.lock:
                self.until = None
            logger.warning("Celery broker reachable again")


_pauses: dict[str, _Pause] = {}  # by broker URL


def publish(task: Any, *args: Any, countdown: float | None = None) -> bool:
    """Queue ``task(*args)`` (without a broker: on this process's worker thread, config.embedded,
    or at once in-process when that is off). False if it was not
    queued, or (without a broker) failed: logged, and left to the periodic re-drive."""
    conf = task.app.conf
    if conf.task_always_eager and embedded.enabled():
        embedded.submit(task, args)  # no broker: this process's worker thread, after the answer
        return True
    pause = _Pause() if conf.task_always_eager else _pauses.setdefault(conf.broker_url, _Pause())
    if pause.active():
        return False
    try:
        if countdown is None:
            task.delay(*args)
        else:
            task.apply_async(args, countdown=countdown)
    except OperationalError as exc:  # kombu's word for "cannot reach the broker"
        if pause.start():
            logger.warning(
                "Celery broker out of reach (%s): queueing nothing for %s s; "
                "the periodic re-drive sends what waits",
                exc,
                RETRY_SECONDS,
            )
        return False
    except Exception:  # without a broker the task ran here and failed: its row stays due
        logger.warning("Task %s%s failed; it will be re-driven", task.name, args, exc_info=True)
        return False
    pause.end()
    return True
