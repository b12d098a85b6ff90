"""A worker alone (the embedded thread without a broker, a re-drive) sends due deliveries in
batches: each batch claimed by one statement and its outcomes recorded in one commit, whatever
its size, with each delivery's own outcome (sent, retried, failed) as when sent one by one.
Against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import delivery, followups
from reports.delivery import channels, outbox
from reports.models import Delivery, DeliveryStatus, Report, ReportPhoto
from tests import factories


def pending(city: Any, count: int) -> list[Delivery]:
    """``count`` filed reports whose deliveries wait (their after-commit wake-ups not run)."""
    reporter = factories.UserFactory.create()
    reports = [
        factories.report(city.pothole, *city.WEST, reporter=reporter, title=f"Hole {n}")
        for n in range(count)
    ]
    return [Delivery.objects.get(report=report) for report in reports]


def delivery_updates(queries: CaptureQueriesContext) -> int:
    return sum(q["sql"].startswith('UPDATE "reports_delivery"') for q in queries.captured_queries)


@pytest.mark.parametrize("count", [1, 6])
def test_a_batch_is_claimed_by_one_statement_and_recorded_by_one_whatever_its_size(
    tiny_city, smtp, count
):
    rows = pending(tiny_city, count)

    with CaptureQueriesContext(connection) as queries:
        summary = delivery.deliveries_send(delivery_ids=[row.pk for row in rows])

    assert summary.sent == count and len(smtp.to_council()) == count
    assert delivery_updates(queries) == 2  # the claim, and every outcome
    for row in Delivery.objects.filter(pk__in=[r.pk for r in rows]).select_related("report"):
        assert row.status == DeliveryStatus.SENT and row.attempts == 1
        assert row.remote_id == f"<fixpoint-delivery-{row.pk}@fixpoint.example.org>"
        assert row.report.sent_at == row.sent_at is not None and row.claimed_at is None
    ids = {message["Message-ID"] for message in smtp.to_council()}
    assert len(ids) == count


def test_a_batch_shares_one_connection_to_the_mail_server(tiny_city, smtp, monkeypatch):
    monkeypatch.setattr(outbox, "SEND_BATCH", 3)
    rows = pending(tiny_city, 5)

    summary = delivery.deliveries_send(delivery_ids=[row.pk for row in rows])

    assert summary.sent == 5
    peers = smtp.handler.peers
    assert len(peers) == 5 and len(set(peers)) == 2  # a connection for each batch
    assert peers[0] == peers[1] == peers[2] != peers[3] == peers[4]


def test_after_a_failed_send_the_batch_connects_afresh_for_the_next(tiny_city, smtp):
    first, second, third = pending(tiny_city, 3)
    smtp.handler.rcpt_replies += ["451 4.3.0 Mailbox busy, try later"]

    summary = delivery.deliveries_send(delivery_ids=[first.pk, second.pk, third.pk])

    assert (summary.retrying, summary.sent) == (1, 2)
    assert len(set(smtp.handler.peers)) == 1  # the two sent after the failure share one


def on_the_second_send(monkeypatch: pytest.MonkeyPatch, mishap: Any) -> None:
    """Before the batch's second message, ``mishap(smtp)`` happens to its SMTP connection."""
    from django.core.mail.backends.smtp import EmailBackend

    send_messages = EmailBackend.send_messages
    calls = []

    def sending(self: EmailBackend, messages: Any) -> int:
        calls.append(self)
        if len(calls) == 2:
            assert self.connection is not None and self.connection.sock is not None
            mishap(self.connection)
        return send_messages(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", sending)


def test_a_mail_server_that_drops_the_connection_loses_one_send_not_the_batch(
    tiny_city, smtp, monkeypatch
):
    rows = pending(tiny_city, 3)
    on_the_second_send(monkeypatch, lambda smtp: smtp.sock.shutdown(socket.SHUT_RDWR))

    summary = delivery.deliveries_send(delivery_ids=[row.pk for row in rows])

    assert (summary.sent, summary.retrying) == (2, 1)
    assert Delivery.objects.get(pk=rows[1].pk).status == DeliveryStatus.PENDING
    assert len(smtp.to_council()) == 2 and len(set(smtp.handler.peers)) == 2


def test_an_unexpected_error_in_mid_send_also_leaves_the_next_a_fresh_connection(
    tiny_city, smtp, monkeypatch
):
    rows = pending(tiny_city, 3)

    def bug_after_mail_from(connection: Any) -> None:  # the connection is mid-transaction
        connection.mail("noreply@fixpoint.example.org")
        raise RuntimeError("a bug in mid-send")

    on_the_second_send(monkeypatch, bug_after_mail_from)

    summary = delivery.deliveries_send(delivery_ids=[row.pk for row in rows])

    assert (summary.sent, summary.retrying) == (2, 1)
    assert "a bug in mid-send" in Delivery.objects.get(pk=rows[1].pk).last_error
    assert len(set(smtp.handler.peers)) == 2


def test_more_than_a_batch_is_sent_in_several(tiny_city, smtp, monkeypatch):
    monkeypatch.setattr(outbox, "SEND_BATCH", 2)
    rows = pending(tiny_city, 5)

    with CaptureQueriesContext(connection) as queries:
        summary = delivery.deliveries_send(delivery_ids=[row.pk for row in rows])

    assert summary.sent == 5 and len(smtp.to_council()) == 5
    assert delivery_updates(queries) == 2 * 3


def test_each_delivery_of_a_batch_keeps_its_own_outcome(tiny_city, smtp):
    first, second, third = pending(tiny_city, 3)
    smtp.handler.rcpt_replies += ["451 4.3.0 Mailbox busy, try later", "550 No such user"]

    summary = delivery.deliveries_send(delivery_ids=[first.pk, second.pk, third.pk])

    assert (summary.retrying, summary.failed, summary.sent) == (1, 1, 1)
    waiting, failed, sent = (Delivery.objects.get(pk=row.pk) for row in (first, second, third))
    assert waiting.status == DeliveryStatus.PENDING and "451" in waiting.last_error
    assert waiting.next_attempt_at > sent.sent_at and waiting.claimed_at is None
    assert failed.status == DeliveryStatus.FAILED and "550" in failed.last_error
    assert sent.status == DeliveryStatus.SENT and sent.last_error == ""
    stamped = Report.objects.filter(sent_at__isnull=False).values_list("pk", flat=True)
    assert list(stamped) == [sent.report_id]


def test_rows_not_pending_or_not_due_are_left_out_of_a_batch(tiny_city, smtp):
    due, done, later = pending(tiny_city, 3)
    Delivery.objects.filter(pk=done.pk).update(status=DeliveryStatus.SENT)
    Delivery.objects.filter(pk=later.pk).update(
        next_attempt_at=later.next_attempt_at.replace(year=2999)
    )

    summary = delivery.deliveries_send(delivery_ids=[due.pk, done.pk, later.pk])

    assert summary.sent == 1 and len(smtp.to_council()) == 1
    assert Delivery.objects.get(pk=later.pk).status == DeliveryStatus.PENDING
    assert Delivery.objects.get(pk=done.pk).attempts == 0


def test_an_outcome_is_not_recorded_over_what_staff_decided_meanwhile(tiny_city, smtp, monkeypatch):
    first, second = pending(tiny_city, 2)
    send = channels.send

    def staff_step_in(row: Delivery) -> str:
        if row.pk == second.pk:  # staff mark it failed while it is being sent
            Delivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.FAILED)
        return send(row)

    monkeypatch.setattr(channels, "send", staff_step_in)
    delivery.deliveries_send(delivery_ids=[first.pk, second.pk])

    assert Delivery.objects.get(pk=first.pk).status == DeliveryStatus.SENT
    assert Delivery.objects.get(pk=second.pk).status == DeliveryStatus.FAILED


def test_without_a_broker_a_wake_up_sends_what_is_due_itself(tiny_city, smtp):
    rows = pending(tiny_city, 3)  # tasks run in this process here: no other worker to share with

    assert delivery.deliveries_dispatch() == 3

    assert len(smtp.to_council()) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert Delivery.objects.filter(pk__in=[r.pk for r in rows]).count() == 3


def test_a_follow_up_batch_writes_its_deliveries_in_one_insert_and_none_twice(
    tiny_city, monkeypatch
):
    monkeypatch.setattr("reports.jobs.coalescing", lambda: True)  # a worker follows up
    monkeypatch.setattr("reports.tasks.follow_up_filed_reports.delay", lambda: None)
    reports = [factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(3)]
    Report.objects.filter(pk__in=[r.pk for r in reports]).update(follow_up_due=True)
    Delivery.objects.create(
        report=reports[0], authority_id=reports[0].authority_id, category=tiny_city.pothole
    )  # written already, e.g. by a follow-up that died before clearing the flags

    with CaptureQueriesContext(connection) as queries:
        assert followups.reports_follow_up() == 3

    inserts = [
        q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "reports_delivery"')
    ]
    assert len(inserts) == 1
    assert [Delivery.objects.filter(report=r).count() for r in reports] == [1, 1, 1]


def test_a_batch_reads_its_reports_photos_in_one_query_and_each_e_mail_lists_its_own(
    tiny_city, smtp
):
    first, second, third = pending(tiny_city, 3)
    for row, names in ((first, ["a", "b"]), (third, ["c"])):
        for name in names:
            ReportPhoto.objects.create(
                report_id=row.report_id, image=f"reports/x/{name}.jpg", width=1, height=1
            )

    with CaptureQueriesContext(connection) as queries:
        delivery.deliveries_send(delivery_ids=[first.pk, second.pk, third.pk])

    photo_reads = [q for q in queries.captured_queries if "reports_reportphoto" in q["sql"]]
    assert len(photo_reads) == 1
    texts = {m["X-Fixpoint-Delivery"]: m.as_string() for m in smtp.to_council()}
    assert "/a.jpg" in texts[str(first.pk)] and "/b.jpg" in texts[str(first.pk)]
    assert ".jpg" not in texts[str(second.pk)]
    assert "/c.jpg" in texts[str(third.pk)] and "/a.jpg" not in texts[str(third.pk)]


def test_a_slow_batch_gives_back_what_it_has_not_sent_before_it_could_count_as_stuck(
    tiny_city, smtp, settings, monkeypatch
):
    settings.FIXPOINT_DELIVERY_STUCK_MINUTES = 0.001  # 60 ms: a batch sends for 30 ms at most
    first, second, third = pending(tiny_city, 3)
    send = channels.send

    def slow(row: Delivery) -> str:
        time.sleep(0.04)  # a council's mail server taking its time
        return send(row)

    monkeypatch.setattr(channels, "send", slow)
    summary = delivery.deliveries_send(delivery_ids=[first.pk, second.pk, third.pk])

    assert (summary.sent, summary.retrying) == (1, 2) and len(smtp.to_council()) == 1
    for row in (second, third):
        given_back = Delivery.objects.get(pk=row.pk)
        assert given_back.status == DeliveryStatus.PENDING and given_back.attempts == 0
        assert given_back.claimed_at is None and given_back.last_error == ""
    monkeypatch.setattr(channels, "send", send)
    assert delivery.deliveries_send(delivery_ids=[second.pk, third.pk]).sent == 2
    assert len(smtp.to_council()) == 3
