"""Work after a commit never turns the committed request into an error, and nothing in Fixpoint
schedules such work except through config.aftercommit."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from django.db import transaction

from accounts.models import User
from config.aftercommit import after_commit

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("accounts", "authorities", "config", "gamification", "reports")


def _calls_to_on_commit(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "on_commit")
            or (isinstance(node.func, ast.Name) and node.func.id == "on_commit")
        )
    ]


def test_only_after_commit_schedules_work_after_a_commit():
    found = {
        str(path.relative_to(ROOT)): lines
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and (lines := _calls_to_on_commit(path))
    }

    assert found == {"config/aftercommit.py": [found["config/aftercommit.py"][0]]}, (
        "Use config.aftercommit.after_commit: a failing callback must not fail the request "
        f"after its commit. Found: {found}"
    )


@pytest.mark.django_db(transaction=True)
def test_a_failing_callback_is_logged_and_the_commit_stands(caplog):
    def wake_the_workers() -> None:
        raise ConnectionError("Redis is away")

    with caplog.at_level(logging.ERROR), transaction.atomic():
        User.objects.create_user(email="kept@example.org", password=None)
        after_commit(wake_the_workers)

    assert User.objects.filter(email="kept@example.org").exists()
    assert "wake_the_workers" in caplog.text and "Redis is away" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_callback_runs_at_once_and_cannot_raise(caplog):
    ran: list[int] = []

    def note(n: int) -> None:
        ran.append(n)
        raise ValueError("broken")

    with caplog.at_level(logging.ERROR):
        after_commit(note, 7)

    assert ran == [7] and "broken" in caplog.text
