from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reports import workers as processes
from tests.reports.mail import SmtpServer, smtp_fixture


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server, and Django sending to it."""
    yield from smtp_fixture(settings)


@pytest.fixture
def council_mail() -> Iterator[SmtpServer]:
    """The council's mail server, which can hold its answer to DATA (processes.CouncilMailbox)."""
    yield from processes.council_mail_server()


@pytest.fixture(scope="module")
def redis_broker() -> Iterator[str]:
    yield from processes.claimed_redis_database()


@pytest.fixture
def private_redis() -> Iterator[processes.RedisServer]:
    """A redis-server of the test's own on a free port, which the test may stop and start."""
    yield from processes.private_redis_server()


@pytest.fixture
def workers(
    transactional_db: None, council_mail: SmtpServer, tmp_path: Path, settings: Any
) -> Iterator[processes.Workers]:
    """Workers are stopped before the test's tables are emptied (this fixture needs
    transactional_db, so it is torn down first)."""
    settings.DEFAULT_FROM_EMAIL = processes.FROM
    started = processes.Workers(
        processes.worker_environment(council_mail.port), tmp_path / "worker.log"
    )
    yield started
    started.stop_all()
