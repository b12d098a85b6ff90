"""With a broker, a filing writes the report and its history; a worker, woken once for many
filings, writes the reporter's subscription, the area alerts and the delivery (reports.followups,
reports.jobs). The broker is recorded here; the workers' functions are called as a worker
would (tests/reports/test_delivery_worker.py runs a real one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from authorities import routing
from config import inserts
from reports import delivery, followups, jobs, services, tasks
from reports.models import Notification, Report, ReportState, ReportStateChange, Subscription
from reports.signals import report_state_changed
from tests import factories


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Any]]]:
    """Tasks go to a broker (recorded here) and the cache is one the workers share."""
    sent: dict[str, list[Any]] = {"follow-ups": [], "dispatches": [], "deliveries": []}
    monkeypatch.setattr(jobs, "coalescing", lambda: True)
    monkeypatch.setattr(jobs, "in_process", lambda: False)
    monkeypatch.setattr(
        tasks.follow_up_filed_reports, "delay", lambda: sent["follow-ups"].append(1)
    )
    monkeypatch.setattr(tasks.dispatch_deliveries, "delay", lambda: sent["dispatches"].append(1))
    monkeypatch.setattr(tasks.deliver, "delay", sent["deliveries"].append)
    cache.delete_many([followups.WAKE_KEY, delivery.WAKE_KEY])
    yield sent
    cache.delete_many([followups.WAKE_KEY, delivery.WAKE_KEY])


@pytest.fixture
def filed(tiny_city, django_capture_on_commit_callbacks):
    def file(**fields: Any) -> Report:
        with django_capture_on_commit_callbacks(execute=True):
            return factories.report(tiny_city.pothole, *tiny_city.WEST, **fields)

    return file


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """followups.reports_follow_up as a worker runs it: its commits' hooks run."""

    def follow_up() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return followups.reports_follow_up()

    return follow_up


def test_a_filing_leaves_its_follow_up_to_one_shared_wake_up(tiny_city, broker, filed, worker):
    area_watcher = Subscription.objects.create(
        email="neighbour@example.org", kind="authority", authority=tiny_city.west, is_confirmed=True
    )
    first, second = filed(), filed()

    assert broker["follow-ups"] == [1]  # the second filing found the first's wake-up pending
    assert Report.objects.filter(follow_up_due=True).count() == 2
    assert not first.deliveries.exists() and not first.subscriptions.exists()

    assert worker() == 2
    for report in (first, second):
        report.refresh_from_db()
        assert not report.follow_up_due
        assert report.deliveries.count() == 1 and report.subscriptions.count() == 1
        assert Notification.objects.filter(report=report, subscription=area_watcher).count() == 1
    assert broker["dispatches"] == [1]  # both deliveries share one dispatch

    assert worker() == 0  # a second wake-up, or beat, finds nothing to do
    assert first.deliveries.count() == 1 and first.subscriptions.count() == 1


def test_deliveries_share_one_dispatch_until_a_worker_looks(tiny_city, broker, filed, worker):
    first, second = filed(), filed()
    worker()

    assert delivery.deliveries_dispatch() == 2  # the worker: one deliver task per due delivery
    assert broker["deliveries"] == [first.deliveries.get().pk, second.deliveries.get().pk]

    filed()
    worker()
    assert broker["dispatches"] == [1, 1]  # written after the worker looked: a wake-up of its own


def test_a_dispatch_in_process_that_reaches_its_limit_wakes_another_for_the_rest(
    tiny_city, broker, filed, worker, monkeypatch, mailoutbox
):
    reports = [filed() for _ in range(3)]
    worker()
    monkeypatch.setattr(jobs, "in_process", lambda: True)  # the embedded thread sends them
    assert broker["dispatches"] == [1]

    assert delivery.deliveries_dispatch(limit=2) == 2

    # Not the re-drive a minute later: after a burst, thousands may be due at once.
    assert broker["dispatches"] == [1, 1]
    assert delivery.deliveries_dispatch(limit=2) == 1
    assert broker["dispatches"] == [1, 1]  # all sent: no more wake-ups
    assert len(mailoutbox) == 3
    assert all(r.deliveries.get().status == "sent" for r in reports)


def test_a_dispatch_to_the_workers_at_its_limit_leaves_the_rest_to_the_re_drive(
    tiny_city, broker, filed, worker
):
    [filed() for _ in range(3)]
    worker()

    assert delivery.deliveries_dispatch(limit=2) == 2

    # Queued rows stay pending until a worker claims them: another wake-up now would only
    # queue the same rows again. Beat's re-drive sends what is left.
    assert broker["dispatches"] == [1]


def test_a_follow_up_that_reaches_its_limit_wakes_another_for_the_rest(tiny_city, broker, filed):
    reports = [filed() for _ in range(3)]
    assert broker["follow-ups"] == [1]

    assert followups.reports_follow_up(limit=2) == 2

    assert broker["follow-ups"] == [1, 1]
    assert followups.reports_follow_up(limit=2) == 1
    assert broker["follow-ups"] == [1, 1]
    assert not Report.objects.filter(pk__in=[r.pk for r in reports], follow_up_due=True).exists()


def test_a_wake_up_the_broker_refused_is_tried_again_and_beat_catches_up(
    tiny_city, broker, filed, monkeypatch
):
    def broker_down() -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.follow_up_filed_reports, "delay", broker_down)
    first = filed()  # saved, with its follow-up due; the wake-up is lost
    monkeypatch.setattr(
        tasks.follow_up_filed_reports, "delay", lambda: broker["follow-ups"].append(1)
    )
    filed()
    assert broker["follow-ups"] == [1]

    call_command("send_pending", stdout=None)  # or beat's follow-up-filed-reports

    first.refresh_from_db()
    assert not first.follow_up_due and first.deliveries.count() == 1


def test_a_report_marked_spam_before_its_follow_up_is_neither_alerted_nor_delivered(
    tiny_city, broker, filed, worker
):
    report = filed()
    services.report_transition(
        report_id=report.pk, to_state=ReportState.SPAM, actor=tiny_city.west_staff
    )

    assert worker() == 0

    report.refresh_from_db()
    assert report.follow_up_due  # waits, in case staff restore it
    assert not report.deliveries.exists() and not report.subscriptions.exists()


def test_a_report_restored_from_spam_before_its_follow_up_is_then_followed_up(
    tiny_city, broker, filed, worker, django_capture_on_commit_callbacks
):
    report = filed()
    services.report_transition(
        report_id=report.pk, to_state=ReportState.SPAM, actor=tiny_city.west_staff
    )
    worker()
    cache.delete(followups.WAKE_KEY)  # the worker has looked since the filing
    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk, to_state=ReportState.OPEN, actor=tiny_city.west_staff
        )
    assert broker["follow-ups"] == [1, 1]  # the restore woke a worker

    assert worker() == 1

    assert report.deliveries.count() == 1 and report.subscriptions.count() == 1


def test_beat_follows_up_filed_reports_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["follow-up-filed-reports"]

    assert entry == {"task": "reports.tasks.follow_up_filed_reports", "schedule": 60.0}


def test_area_alerts_cost_one_insert_per_subscriber_and_no_lookups(
    tiny_city, broker, filed, worker
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(5):
        Subscription.objects.create(
            email=f"n{n}@example.org", kind="authority", authority=tiny_city.west, is_confirmed=True
        )
    filed()

    with CaptureQueriesContext(connection) as queries:
        worker()

    assert Notification.objects.filter(kind="new_report").count() == 5
    lookups = [q for q in queries.captured_queries if 'FROM "authorities_authority"' in q["sql"]]
    assert lookups == []  # each alert names the report's authority, joined with the batch


def test_a_report_verified_before_its_follow_up_still_reaches_the_authority(
    tiny_city, broker, filed, worker
):
    report = filed()
    services.report_transition(
        report_id=report.pk, to_state=ReportState.VERIFIED, actor=tiny_city.west_staff
    )

    worker()

    assert report.deliveries.count() == 1 and report.subscriptions.count() == 1


def test_without_a_broker_the_filing_does_it_all_at_once(tiny_city, filed):
    report = filed()

    assert not report.follow_up_due
    assert report.deliveries.count() == 1 and report.subscriptions.count() == 1


def test_anonymous_filings_are_confirmed_by_e_mail_at_once_and_followed_up_on_confirming(
    tiny_city, broker, filed
):
    report = filed(reporter_name="Ana", reporter_email="ana@example.org")
    assert not report.follow_up_due
    assert Notification.objects.filter(report=report, kind="report_confirm").exists()

    services.report_confirm(report_id=report.pk)

    assert report.deliveries.count() == 1 and broker["follow-ups"] == []


def test_the_new_pin_reaches_the_map_when_the_worker_commits(
    tiny_city, broker, filed, worker, client
):
    def pins() -> int:
        query = {"bbox": "0.99,9.99,1.21,10.21", "zoom": 16}
        return len(client.get("/map/reports.json", query).json()["features"])

    assert pins() == 0  # the tiles are computed and cached
    filed()
    assert pins() == 0  # the filing did not touch the tiles: the worker will

    worker()

    assert pins() == 1


def test_many_waiting_reports_are_followed_up_in_batches(
    tiny_city, broker, filed, worker, monkeypatch
):
    monkeypatch.setattr(followups, "BATCH", 2)
    reports = [filed() for _ in range(5)]

    assert worker() == 5

    assert Subscription.objects.filter(report__in=reports).count() == 5
    assert all(report.deliveries.count() == 1 for report in reports)
    assert not Report.objects.filter(follow_up_due=True).exists()


on_postgresql = pytest.mark.skipif(
    not inserts.available(), reason="one-statement filing needs PostgreSQL's WITH ... INSERT"
)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_filing_a_worker_follows_up_is_one_statement_with_its_history(tiny_city, broker):
    factories.report(tiny_city.pothole, *tiny_city.WEST)  # routing's index is built by now
    category = routing.active_category("pothole")  # as the API has it: questions and all
    heard: list[dict[str, Any]] = []
    report_state_changed.connect(lambda **kw: heard.append(kw), weak=False, dispatch_uid="t1")
    try:
        with CaptureQueriesContext(connection) as queries:
            report = factories.report(category, *tiny_city.WEST, reporter=tiny_city.west_staff)
    finally:
        report_state_changed.disconnect(dispatch_uid="t1")

    # No BEGIN, second INSERT or COMMIT (and no look-up but routing's freshness check).
    sent = [q["sql"] for q in queries.captured_queries if "routingversion" not in q["sql"]]
    assert [sql.split()[0] for sql in sent] == ["WITH"], sent
    stored = Report.objects.get(pk=report.pk)
    assert (stored.ref, stored.state, stored.follow_up_due) == (report.ref, "open", True)
    [first] = stored.history.all()
    assert (first.from_state, first.to_state, first.actor, first.actor_kind) == (
        "",
        "open",
        tiny_city.west_staff,
        "reporter",
    )
    assert first.created_at == stored.created_at
    [announced] = heard
    assert announced["created"] and announced["change"].pk == first.pk
    assert announced["report"].pk == report.pk and not report._state.adding
    assert broker["follow-ups"] == [1]


@on_postgresql
def test_a_taken_ref_in_a_callers_transaction_is_retried_without_a_savepoint(
    tiny_city, broker, monkeypatch
):
    first = factories.report(tiny_city.pothole, *tiny_city.WEST)
    refs = iter([first.ref, "NEWREF3"])
    monkeypatch.setattr(services, "_new_ref", lambda: next(refs))

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        second = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Another hole")
        assert Report.objects.count() == 2  # the caller's transaction survives the clash

    sent = [q["sql"].split()[0] for q in queries.captured_queries]
    assert "SAVEPOINT" not in sent and sent.count("WITH") == 2, sent

    assert second.ref == "NEWREF3" and second.history.count() == 1
    assert Report.objects.get(ref=first.ref).title == "Pothole"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_taken_ref_outside_a_transaction_is_retried_and_nothing_is_left_half_written(
    tiny_city, broker, monkeypatch
):
    first = factories.report(tiny_city.pothole, *tiny_city.WEST)
    refs = iter([first.ref, "NEWREF4"])
    monkeypatch.setattr(services, "_new_ref", lambda: next(refs))

    second = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Another hole")

    assert second.ref == "NEWREF4"
    assert Report.objects.count() == 2 and ReportStateChange.objects.count() == 2


def test_photos_or_a_filing_without_a_worker_keep_the_transaction(tiny_city, filed):
    # Without a broker the receivers write the subscription and delivery with the report: all
    # of it in one transaction, never the one statement.
    with CaptureQueriesContext(connection) as queries:
        report = filed()
    assert not any(q["sql"].startswith("WITH") for q in queries.captured_queries)
    assert report.subscriptions.count() == 1 and report.deliveries.count() == 1


def test_a_batch_alerts_each_report_exactly_the_subscribers_it_would_alert_alone(tiny_city, broker):
    from django.utils import timezone

    from reports import notifications

    north_west = factories.area("North-west", factories.square(1.0, 10.05, 0.05), tiny_city.west)
    here, east_spot, in_area = (10.03, 1.05), tiny_city.EAST, (10.08, 1.03)  # (lat, lon)

    def subscribe(email: str, **fields: Any) -> Subscription:
        fields.setdefault("is_confirmed", True)
        return Subscription.objects.create(email=f"{email}@example.org", **fields)

    west = subscribe("west", kind="authority", authority=tiny_city.west)
    east = subscribe("east", kind="authority", authority=tiny_city.east)
    area = subscribe("area", kind="area", area=north_west)
    near_west = subscribe(
        "near-west",
        kind="radius",
        latitude=10.031,
        longitude=1.05,
        radius_m=300,  # ~110 m
    )
    # In the box SQL filters by (5 km), but farther than its radius from every report.
    subscribe("short", kind="radius", latitude=10.05, longitude=1.05, radius_m=100)
    subscribe("unconfirmed", kind="authority", authority=tiny_city.west, is_confirmed=False)
    subscribe("gone", kind="authority", authority=tiny_city.east, unsubscribed_at=timezone.now())
    reports = [factories.report(tiny_city.pothole, *spot) for spot in (here, east_spot, in_area)]
    assert reports[2].area == north_west and reports[0].area is None

    batch = notifications._area_subscribers(reports)

    alone = {r.pk: notifications._area_subscribers([r])[r.pk] for r in reports}
    assert {pk: {s.pk for s in found} for pk, found in batch.items()} == {
        pk: {s.pk for s in found} for pk, found in alone.items()
    }
    assert {pk: {s.email for s in found} for pk, found in batch.items()} == {
        reports[0].pk: {west.email, near_west.email},
        reports[1].pk: {east.email},
        reports[2].pk: {west.email, area.email},
    }


def test_a_batch_in_more_areas_than_a_power_of_two_alerts_each_area_s_subscribers(
    tiny_city, broker
):
    # The query's lists of areas are padded to a power of two (three areas: four places, the
    # last repeated); every area's subscribers are still found, and only theirs.
    from reports import notifications

    areas = [
        factories.area(f"Strip {n}", factories.square(1.0 + n / 100, 10.05, 0.01), tiny_city.west)
        for n in range(4)
    ]
    watchers = [
        Subscription.objects.create(
            email=f"strip-{n}@example.org", kind="area", area=area, is_confirmed=True
        )
        for n, area in enumerate(areas)
    ]
    reports = [factories.report(tiny_city.pothole, 10.055, 1.005 + n / 100) for n in range(3)]
    assert [r.area for r in reports] == areas[:3]

    found = notifications._area_subscribers(reports)

    assert {pk: [s.email for s in subs] for pk, subs in found.items()} == {
        r.pk: [watchers[n].email] for n, r in enumerate(reports)
    }


def test_following_up_a_batch_again_writes_no_second_subscription_or_delivery(tiny_city):
    # A report restored from spam, or a follow-up retried, is followed up again: what its first
    # one wrote is found (three reports: a padded list of four ids) and not written twice.
    reporter = factories.UserFactory()
    reports = [
        factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter) for _ in range(3)
    ]
    assert all(r.subscriptions.count() == r.deliveries.count() == 1 for r in reports)

    followups.reports_opened_follow_up(reports)

    assert [(r.subscriptions.count(), r.deliveries.count()) for r in reports] == [(1, 1)] * 3
