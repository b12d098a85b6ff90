from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.reports.mail import SmtpServer, smtp_fixture


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server, and Django sending to it."""
    yield from smtp_fixture(settings)
