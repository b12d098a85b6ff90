"""A parallel test run (pytest-xdist, `-n 2`; tests/conftest.py): each worker process has its own
key prefix in the cache they share, and the processes its tests start (Celery workers, servers)
use the same keys as the test that started them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core.cache import cache

from tests.conftest import cache_url_with_prefix, worker_cache_prefix

ROOT = Path(__file__).resolve().parent.parent.parent
SHOW_KEY = "from django.core.cache import cache; print(cache.make_key('k'))"


def test_a_process_started_by_a_test_makes_the_same_cache_keys_as_the_test():
    result = subprocess.run(  # noqa: S603 (our own manage.py with fixed arguments)
        [sys.executable, "manage.py", "shell", "-v0", "-c", SHOW_KEY],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [cache.make_key("k")]


def test_each_parallel_worker_gets_its_own_key_prefix_and_passes_it_on_in_cache_url():
    url = "redis://127.0.0.1:6379/1?socket_timeout=2&KEY_PREFIX=run"
    prefixes = {worker: worker_cache_prefix("run", worker) for worker in ("gw0", "gw1")}

    assert prefixes == {"gw0": "run-gw0", "gw1": "run-gw1"}
    assert worker_cache_prefix("", "gw0") == "fixpoint-tests-gw0"
    passed_on = cache_url_with_prefix(url, prefixes["gw1"])
    assert passed_on == "redis://127.0.0.1:6379/1?socket_timeout=2&key_prefix=run-gw1"


def test_this_worker_uses_its_prefix_when_the_run_is_parallel():
    # In CI's parallel PostgreSQL pass (CACHE_URL set) the prefix ends in the worker's name; in
    # any other run the cache keeps its configured prefix.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    expected = (
        f"-{worker}:1:k" if worker and "key_prefix=" in os.environ.get("CACHE_URL", "") else ":1:k"
    )
    assert cache.make_key("k").endswith(expected)
