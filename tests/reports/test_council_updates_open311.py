"""Citizens' updates reaching a second, live Fixpoint acting as the Open311 council
(council_fixpoint.py): our report is delivered there over GeoReport v2, then what citizens add to
it goes by mySociety's servicerequestupdates POST through the UpdateDelivery outbox, and the tests
read the council's copy back over its own GeoReport v2 and REST API. Faults on the line (a 500,
an answer lost after the council took the update) come from the proxy in between."""

from __future__ import annotations

from typing import Any

from reports import services
from reports.delivery import council_updates, status_sync
from reports.models import DeliveryStatus, Opinion, Report, ReportState, UpdateDelivery, UpdateEvent
from tests import factories
from tests.reports.council_fixpoint import CouncilFixpoint, deliver_to, file_report


def updates_to(city: Any, url: str, council: CouncilFixpoint) -> None:
    """Reports and, where staff switched them on, citizens' updates go to the council."""
    deliver_to(city, url, council.key, send_updates=True, open311_updates=True)


def comment(report: Report, capture: Any, text: str, **fields: Any) -> None:
    author = fields.pop("author", None) or factories.UserFactory.create(display_name="Jordi Vila")
    with capture(execute=True):
        services.report_update_add(report_id=report.pk, author=author, text=text, **fields)


def filed_there(council: CouncilFixpoint, report: Report) -> str:
    [request] = council.requests_for(report)
    return str(request["service_request_id"])


def test_a_citizens_comment_reaches_the_councils_copy_once_under_their_name(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    updates_to(tiny_city, council_fixpoint.url, council_fixpoint)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    theirs = filed_there(council_fixpoint, report)

    comment(report, django_capture_on_commit_callbacks, "Cars swerve round it now.", show_name=True)

    [seen] = council_fixpoint.comments(theirs)
    sent = UpdateDelivery.objects.get(report=report)
    assert (sent.status, sent.attempts, sent.remote_id) == (
        DeliveryStatus.SENT,
        1,
        f"comment-{seen['id']}",
    )
    assert seen["text"].startswith("Cars swerve round it now.") and report.ref in seen["text"]
    assert (seen["author"], seen["opinion"]) == ("Jordi Vila", "")
    # A comment moves nothing at the council: its copy is open, with no state change listed.
    assert council_fixpoint.service_request(theirs)["status"] == "open"
    assert council_fixpoint.status_changes(theirs) == []


def test_a_500_on_the_line_is_retried_and_the_council_has_the_comment_once(
    tiny_city, council_fixpoint, line, django_capture_on_commit_callbacks
):
    updates_to(tiny_city, line.url, council_fixpoint)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    theirs = filed_there(council_fixpoint, report)
    line.faults.append((500, [{"code": 500, "description": "database busy"}]))

    comment(report, django_capture_on_commit_callbacks, "Now two holes.")

    waiting = UpdateDelivery.objects.get(report=report)
    assert (waiting.status, waiting.attempts) == (DeliveryStatus.PENDING, 1)
    assert "HTTP 500" in waiting.last_error and council_fixpoint.comments(theirs) == []
    council_updates.update_deliveries_send_due(ignore_backoff=True)
    council_updates.update_deliveries_send_due(ignore_backoff=True)  # nothing left to send
    sent = UpdateDelivery.objects.get(pk=waiting.pk)
    [seen] = council_fixpoint.comments(theirs)
    assert (sent.status, sent.attempts, sent.remote_id) == (
        DeliveryStatus.SENT,
        2,
        f"comment-{seen['id']}",
    )
    assert seen["text"].startswith("Now two holes.") and line.posts == 3  # the report, 2 tries


def test_an_answer_lost_after_the_council_took_the_update_adds_nothing_on_the_retry(
    tiny_city, council_fixpoint, line, django_capture_on_commit_callbacks
):
    updates_to(tiny_city, line.url, council_fixpoint)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    theirs = filed_there(council_fixpoint, report)
    line.faults.append("drop")

    comment(report, django_capture_on_commit_callbacks, "The barrier has fallen in.")

    waiting = UpdateDelivery.objects.get(report=report)
    assert waiting.status == DeliveryStatus.PENDING
    assert len(council_fixpoint.comments(theirs)) == 1  # it got there; we never heard
    council_updates.update_deliveries_send_due(ignore_backoff=True)
    # The retry carried the same Idempotency-Key: the council answered as the first time.
    [seen] = council_fixpoint.comments(theirs)
    sent = UpdateDelivery.objects.get(pk=waiting.pk)
    assert (sent.status, sent.remote_id) == (DeliveryStatus.SENT, f"comment-{seen['id']}")
    assert line.posts == 3


def test_the_reporters_reopening_reopens_the_councils_copy_with_the_reason(
    tiny_city, council_fixpoint, django_capture_on_commit_callbacks
):
    updates_to(tiny_city, council_fixpoint.url, council_fixpoint)
    report = file_report(tiny_city, django_capture_on_commit_callbacks)
    theirs = filed_there(council_fixpoint, report)
    council_fixpoint.post_update(theirs, "FIXED", "Filled on Tuesday.")
    with django_capture_on_commit_callbacks(execute=True):
        status_sync.open311_statuses_poll()
    assert Report.objects.get(pk=report.pk).state == ReportState.FIXED

    comment(
        report,
        django_capture_on_commit_callbacks,
        "They filled the wrong hole.",
        author=report.reporter,
        opinion=Opinion.STILL_A_PROBLEM,
    )

    [sent] = UpdateDelivery.objects.filter(report=report)
    assert (sent.event, sent.status) == (UpdateEvent.REOPENED, DeliveryStatus.SENT)
    request = council_fixpoint.service_request(theirs)
    assert request["status"] == "open"
    assert request["status_notes"].startswith("They filled the wrong hole.")
    changes = council_fixpoint.status_changes(theirs)
    assert [c["status"] for c in changes] == ["FIXED", "OPEN"]
    [seen] = council_fixpoint.comments(theirs)
    assert seen["opinion"] == "still_a_problem" and seen["author"] is None  # name not shown
    # The council's copy, open again, does not echo back as a change of ours.
    assert status_sync.open311_statuses_poll().moved == 0
    assert Report.objects.get(pk=report.pk).state == ReportState.OPEN
