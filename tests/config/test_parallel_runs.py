"""A parallel test run (pytest-xdist, `-n 2`; tests/conftest.py): each worker process has its own
key prefix in the cache they share, and the processes its tests start (Celery workers, servers)
use the same keys as the test that started them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache

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


def test_in_a_parallel_run_with_a_shared_cache_each_worker_has_its_own_key_prefix():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not (worker and os.environ.get("CACHE_URL")):
        pytest.skip("only in a parallel run with a shared cache (CACHE_URL)")

    assert cache.make_key("k").endswith(f"-{worker}:1:k")
