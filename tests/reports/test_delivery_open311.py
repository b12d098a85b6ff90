"""Open311 delivery to a second, live Fixpoint acting as the council (council_fixpoint.py): this
same code base as its own process, with its own database, which the tests ask over GeoReport v2
what it received; faults on the line come from a proxy in between."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from authorities.models import CategoryQuestion
from reports import delivery
from reports.delivery import status_sync
from reports.models import Delivery, DeliveryStatus, Report, ReportState
from tests import factories
from tests.reports.council_fixpoint import deliver_to, file_report


def test_a_report_reaches_the_councils_fixpoint_once_with_its_place_text_and_id(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key)
    CategoryQuestion.objects.create(category=tiny_city.pothole, code="depth", label="How deep?")

    # The council has the same question: it would refuse an answer to one it does not know.
    report = file_report(tiny_city, django_capture_on_commit_callbacks, extra={"depth": "10 cm"})

    [filed] = council_fixpoint.requests_for(report)
    sent = Delivery.objects.get(report=report)
    assert (sent.status, sent.remote_id) == (DeliveryStatus.SENT, filed["service_request_id"])
    assert (filed["lat"], filed["long"]) == tiny_city.WEST
    assert "front of the school gate" in filed["description"]
    assert filed["agency_responsible"] == "West Council" and filed["status"] == "open"
    assert Report.objects.get(pk=report.pk).sent_at is not None


def test_a_500_then_200_leaves_one_request_at_the_council(
    tiny_city, council_fixpoint, line, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, line.url, council_fixpoint.key)
    line.faults.append((500, [{"code": 500, "description": "database busy"}]))

    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    assert "HTTP 500" in Delivery.objects.get(report=report).last_error
    delivery.deliveries_send_due(ignore_backoff=True)
    delivery.deliveries_send_due(ignore_backoff=True)

    [filed] = council_fixpoint.requests_for(report)
    sent = Delivery.objects.get(report=report)
    assert (sent.status, sent.remote_id, sent.attempts) == (
        DeliveryStatus.SENT,
        filed["service_request_id"],
        2,
    )


def test_an_answer_lost_after_the_council_filed_it_is_found_there_not_filed_again(
    tiny_city, council_fixpoint, line, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, line.url, council_fixpoint.key)
    line.faults.append("drop")

    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    assert Delivery.objects.get(report=report).status == DeliveryStatus.PENDING
    delivery.deliveries_send_due(ignore_backoff=True)

    [filed] = council_fixpoint.requests_for(report)
    sent = Delivery.objects.get(report=report)
    assert (sent.status, sent.remote_id) == (DeliveryStatus.SENT, filed["service_request_id"])
    assert line.posts == 1  # the retry asked, found it, and posted nothing


def test_a_worker_that_died_after_the_council_filed_it_is_recovered_without_a_second_request(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    # As if the worker died right after the council answered: the row still says "sending".
    Delivery.objects.filter(report=report).update(
        status=DeliveryStatus.SENDING, remote_id="", claimed_at=timezone.now() - timedelta(hours=1)
    )

    summary = delivery.deliveries_send_due(ignore_backoff=True)

    [filed] = council_fixpoint.requests_for(report)
    sent = Delivery.objects.get(report=report)
    assert (summary.recovered, summary.sent) == (1, 1)
    assert (sent.status, sent.remote_id) == (DeliveryStatus.SENT, filed["service_request_id"])


def test_a_worker_that_died_before_the_council_got_it_files_it_after_the_redrive(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key)
    with django_capture_on_commit_callbacks(execute=False):  # the task never ran
        report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    Delivery.objects.filter(report=report).update(
        status=DeliveryStatus.SENDING, attempts=1, claimed_at=timezone.now() - timedelta(hours=1)
    )

    delivery.deliveries_send_due(ignore_backoff=True)

    assert len(council_fixpoint.requests_for(report)) == 1
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT


def test_a_service_the_council_does_not_offer_is_a_permanent_failure_with_its_reason(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key, service_code="graffiti")

    report = file_report(tiny_city, django_capture_on_commit_callbacks)

    failed = Delivery.objects.get(report=report)
    assert failed.status == DeliveryStatus.FAILED
    assert "HTTP 400" in failed.last_error and "graffiti" in failed.last_error
    assert delivery.deliveries_send_due(ignore_backoff=True).sent == 0
    assert council_fixpoint.requests_for(report) == []


def test_the_councils_fixed_with_a_note_comes_back_to_the_report_on_the_next_poll(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    deliver_to(tiny_city, council_fixpoint.url, council_fixpoint.key)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    [filed] = council_fixpoint.requests_for(report)

    council_fixpoint.post_update(filed["service_request_id"], "FIXED", "Filled on Tuesday.")
    with django_capture_on_commit_callbacks(execute=True):
        summary = status_sync.open311_statuses_poll()
    again = status_sync.open311_statuses_poll()

    report.refresh_from_db()
    latest = report.history.order_by("-created_at", "-id").first()
    assert report.state == ReportState.FIXED and (summary.moved, again.moved) == (1, 0)
    assert latest is not None and latest.public_note == "Filled on Tuesday."
