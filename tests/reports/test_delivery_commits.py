"""Which commits wait for the disk: a filing does, before its answer; the outbox's bookkeeping (a
delivery claimed, its outcome) does not (config.commits). Asked of PostgreSQL itself: the
setting in force when each statement ran, in real transactions (transactional_db)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction

from config.commits import unflushed_transaction
from reports import delivery
from reports.models import Delivery, DeliveryStatus, Report
from tests import factories

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's"
    ),
    pytest.mark.django_db(transaction=True),
]


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        return str(cursor.fetchone()[0])


@contextmanager
def commit_rules() -> Iterator[list[tuple[str, str]]]:
    """(statement, synchronous_commit in force) for each write to reports or deliveries."""
    seen: list[tuple[str, str]] = []

    def ask(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if sql.startswith(('INSERT INTO "reports_report"', 'UPDATE "reports_')):
            rule = connection.connection.execute("SELECT current_setting('synchronous_commit')")
            seen.append((sql.split(" SET ")[0].split(" (")[0], str(rule.fetchone()[0])))
        return result

    with connection.execute_wrapper(ask):
        yield seen


def test_a_filing_waits_for_the_disk_and_its_delivery_bookkeeping_does_not(tiny_city, smtp):
    reporter = factories.UserFactory.create()

    with commit_rules() as seen:
        report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)

    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT
    assert len(smtp.to_council()) == 1
    assert seen == [
        ('INSERT INTO "reports_report"', "on"),  # the filing: durable before any answer
        ('UPDATE "reports_delivery"', "off"),  # claimed for sending
        ('UPDATE "reports_delivery"', "off"),  # sent
        ('UPDATE "reports_report"', "off"),  # stamped sent, in the same commit as the outcome
    ]
    assert synchronous_commit() == "on"  # SET LOCAL: nothing leaks into the next transaction


def test_a_failed_attempts_outcome_does_not_wait_for_the_disk_either(tiny_city, smtp):
    smtp.handler.rcpt_replies.append("550 5.1.1 No such user here")

    with commit_rules() as seen:
        report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    assert Delivery.objects.get(report=report).status == DeliveryStatus.FAILED
    assert [rule for statement, rule in seen if "reports_delivery" in statement] == ["off"] * 2


def test_an_outcome_recorded_inside_a_callers_transaction_keeps_that_transaction_durable(
    tiny_city,
):
    with transaction.atomic():
        with unflushed_transaction():
            inside = synchronous_commit()
        after = synchronous_commit()

    with unflushed_transaction():
        own = synchronous_commit()

    assert (inside, after, own) == ("on", "on", "off")


def test_a_delivery_whose_outcome_cannot_be_committed_is_left_sending_for_the_redrive(
    tiny_city, smtp, monkeypatch
):
    monkeypatch.setattr("reports.delivery.outbox.wake_workers", lambda delivery_id: None)
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    waiting = Delivery.objects.filter(report=report)

    def stamp_fails(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("reports.models.ReportQuerySet.update", stamp_fails)
    with pytest.raises(RuntimeError):
        delivery.delivery_send(delivery_id=waiting.get().pk)

    # The outcome and the report's stamp are one commit: neither is half recorded, and the
    # re-drive recovers the row (it was sent: again, with the same Message-ID).
    assert waiting.get().status == DeliveryStatus.SENDING and len(smtp.to_council()) == 1
    assert Report.objects.filter(pk=report.pk, sent_at__isnull=True).exists()
