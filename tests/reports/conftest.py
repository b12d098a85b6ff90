from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reports import council_fixpoint as council
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


@pytest.fixture(scope="session")
def council_fixpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[council.CouncilFixpoint]:
    """A second Fixpoint serving as the Open311 council (council_fixpoint.py), started once:
    the tests that use it tell their reports apart by reference."""
    yield from council.council_fixpoint_process(tmp_path_factory.mktemp("council"))


@pytest.fixture
def line(council_fixpoint: council.CouncilFixpoint) -> Iterator[council.FaultyLine]:
    """A proxy to the council on which a test queues faults (a 500, a lost answer)."""
    yield from council.faulty_line(council_fixpoint.url)
