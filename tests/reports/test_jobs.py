"""reports.jobs queues tasks by name: every process that starts Django can queue each of them,
including a web process that never imported reports.tasks itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = """
import django
django.setup()
from reports import jobs
for name in ("deliver", "send_notification", "follow_up_filed_reports", "dispatch_deliveries"):
    assert jobs._task(name).name == "reports.tasks." + name
"""


def test_a_fresh_process_finds_every_task_it_queues() -> None:
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert run.returncode == 0, run.stderr
