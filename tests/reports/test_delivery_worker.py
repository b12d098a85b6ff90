"""A real Celery worker (a subprocess on the Redis broker) delivers reports to a real SMTP server,
through the faults the outbox exists for: a worker killed mid-send, Redis down while a report is
filed.

The worker is another process, so it must open the test database and see what the test commits:
these tests run on PostgreSQL only (transactional, no test transaction around them). SQLite's test
database lives in the test process's memory, where no worker can reach it.

Every wait has a deadline, every process started here is stopped here (by its own pid), and the
broker is a Redis database on 127.0.0.1:6379 that this run claims (empty, with a lock key) or a
private redis-server on a free port for the test that stops Redis.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.utils import timezone

from reports import delivery, jobs, tasks
from reports.models import Delivery, DeliveryStatus, Report
from tests import factories
from tests.reports.workers import FORM, delivery_of, mailbox, tasks_sent_to, wait_until

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (DATABASE_URL=postgres://...): the Celery worker subprocess must "
        "open the test database, and SQLite's test database is in-memory in the test process",
    ),
    pytest.mark.django_db(transaction=True),
]

# --- Tests --------------------------------------------------------------------------------------


def test_a_report_filed_on_the_website_is_delivered_by_the_worker_exactly_once(
    tiny_city, workers, council_mail, redis_broker, client
):
    client.force_login(factories.UserFactory.create(display_name="Marta Puig"))
    with tasks_sent_to(redis_broker):
        worker = workers.start(redis_broker)
        response = client.post("/reports/new/", FORM)
        report = Report.objects.get()
        sent = delivery_of(report, DeliveryStatus.SENT, workers.log)
        # A repeated task and the periodic re-drive find nothing left to send.
        tasks.deliver.delay(sent.pk)
        tasks.send_pending_deliveries.delay()
        worker.drain()

    assert response.status_code == 302 and response.url == report.get_absolute_url()
    [message] = council_mail.to_council()
    assert message["Message-ID"] == sent.remote_id and report.ref in message["Subject"]
    assert message["To"] == "west@council.example.org"
    assert Delivery.objects.get(pk=sent.pk).attempts == 1
    assert Report.objects.get(pk=report.pk).sent_at == sent.sent_at


def test_a_worker_killed_mid_send_is_re_driven_and_the_council_keeps_one_message(
    tiny_city, workers, council_mail, redis_broker
):
    council = mailbox(council_mail)
    council.hold_next = True  # the server has the message but does not answer yet
    with tasks_sent_to(redis_broker):
        first = workers.start(redis_broker)
        report = factories.report(tiny_city.pothole, *tiny_city.WEST)
        wait_until(council.holding.is_set, 30, "the message to reach the server", workers.log)
        assert Delivery.objects.get(report=report).status == DeliveryStatus.SENDING
        first.kill()
        council.released.set()
        left_behind = frozenset(redis.Redis.from_url(redis_broker).hkeys("unacked"))
        stuck = Delivery.objects.get(report=report)
        assert (stuck.status, stuck.attempts) == (DeliveryStatus.SENDING, 1)

        # The re-drive takes over rows left in "sending" past the stuck timeout: move the claim
        # back in time rather than wait for it.
        Delivery.objects.filter(pk=stuck.pk).update(
            claimed_at=timezone.now() - delivery.stuck_after() - timedelta(seconds=1)
        )
        second = workers.start(redis_broker)
        tasks.send_pending_deliveries.delay()
        sent = delivery_of(report, DeliveryStatus.SENT, workers.log)
        tasks.send_pending_deliveries.delay()
        second.drain(unacked_before=left_behind)

    # The wire carried it twice (SMTP has no way to ask "did you get it?"); both carry the same
    # Message-ID, so the council's mailbox keeps one message.
    messages = council_mail.to_council()
    assert len(messages) == 2 and {m["Message-ID"] for m in messages} == {sent.remote_id}
    assert Delivery.objects.get(pk=sent.pk).attempts == 2


def test_with_redis_stopped_the_report_is_saved_and_delivered_once_redis_is_back(
    tiny_city, workers, council_mail, private_redis, client
):
    client.force_login(factories.UserFactory.create())
    with tasks_sent_to(private_redis.url):
        worker = workers.start(private_redis.url)
        private_redis.stop()
        response = client.post("/reports/new/", FORM)
        report = Report.objects.get()
        if jobs.coalescing():  # the cache is Redis too: a worker writes the delivery
            assert report.follow_up_due and not Delivery.objects.exists()
        else:
            waiting = Delivery.objects.get(report=report)
            assert (waiting.status, waiting.attempts) == (DeliveryStatus.PENDING, 0)

        private_redis.start()  # on the same port, empty: the queued task was never there
        tasks.follow_up_filed_reports.delay()  # what Celery beat sends every minute
        tasks.send_pending_deliveries.delay()
        sent = delivery_of(report, DeliveryStatus.SENT, workers.log, seconds=60)
        tasks.send_pending_deliveries.delay()
        worker.drain()

    assert response.status_code == 302 and response.url == report.get_absolute_url()
    assert council_mail.to_council()[0]["Message-ID"] == sent.remote_id
    assert len(council_mail.to_council()) == 1
