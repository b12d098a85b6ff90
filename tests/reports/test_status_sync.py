"""Status coming back from an Open311 council. The council is Fixpoint's own /open311/v2/ served
by pytest-django's live server: our report is delivered there (the council's copy is its service
request), the council's system moves that request with servicerequestupdates, and the poll
(reports.delivery.status_sync) moves our report to match. live_server makes these tests
transactional."""

from __future__ import annotations

import io
import json
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import ApiScope
from accounts.services import api_client_create
from authorities import services as authority_services
from authorities.models import AuthorityCategory, DeliveryMethod
from reports.delivery import status_sync
from reports.models import Delivery, DeliveryStatus, Report, ReportState, StatusPoll
from reports.services import report_transition
from tests import factories
from tests.conftest import TinyCity


@dataclass
class Council:
    url: str  # its Open311 endpoint
    crm_key: str  # its own system's key: staff of the West district


@pytest.fixture
def council(tiny_city: TinyCity, live_server: Any) -> Council:
    # The council files what it receives in a category of its own, delivered by e-mail: under
    # "pothole" its copy would be delivered over Open311 again, to itself, for ever.
    intake = factories.CategoryFactory.create(name="Council pothole", slug="council-pothole")
    authority_services.authority_category_set(authority=tiny_city.west, category=intake)
    inbox = factories.UserFactory.create(email="fixpoint-inbox@west.example.org")
    fixpoint_key = api_client_create(name="Fixpoint", scope=ApiScope.WRITE, user=inbox)[1]
    crm_key = api_client_create(name="CRM", scope=ApiScope.WRITE, user=tiny_city.west_staff)[1]
    url = f"{live_server.url}/open311/v2/"
    AuthorityCategory.objects.filter(authority=tiny_city.west, category=tiny_city.pothole).update(
        delivery_method=DeliveryMethod.OPEN311,
        endpoint_url=url,
        service_code=intake.slug,
        api_key=fixpoint_key,
        jurisdiction_id="fixpoint",
    )
    return Council(url, crm_key)


def file_and_deliver(city: TinyCity) -> tuple[Report, Report]:
    """Our report, delivered at once (tasks run eagerly here), and the council's copy of it."""
    report = factories.report(city.pothole, *city.WEST)
    sent = Delivery.objects.get(report=report)
    assert sent.status == DeliveryStatus.SENT, sent.last_error
    return report, Report.objects.get(ref=sent.remote_id)


def council_says(council: Council, request: Report, status: str, note: str = "") -> None:
    """The council's system records a change on its own server."""
    body = {"api_key": council.crm_key, "service_request_id": request.ref, "status": status}
    body |= {"description": note, "updated_datetime": "2026-05-01T10:00:00+02:00"}
    url = f"{council.url}servicerequestupdates.json"
    with urllib.request.urlopen(url, urlencode(body).encode(), timeout=10) as answer:  # noqa: S310
        assert answer.status == 200 and json.load(answer)[0]["update_id"]


def latest_change(report: Report) -> Any:
    return report.history.order_by("-created_at", "-id").first()


def test_the_councils_progress_and_fix_come_back_as_public_changes_by_the_system(
    tiny_city, council
):
    report, request = file_and_deliver(tiny_city)
    assert (request.category.slug, request.state) == ("council-pothole", ReportState.OPEN)

    council_says(council, request, "IN_PROGRESS", "Crew booked for Monday.")
    summary = status_sync.open311_statuses_poll()

    report.refresh_from_db()
    change = latest_change(report)
    assert (summary.destinations, summary.moved, summary.failed) == (1, 1, 0)
    assert report.state == ReportState.IN_PROGRESS
    assert (change.actor, change.actor_kind) == (None, "system")
    assert change.public_note == "Crew booked for Monday."

    council_says(council, request, "FIXED", "Filled and sealed.")
    status_sync.open311_statuses_poll()

    report.refresh_from_db()
    assert report.state == ReportState.FIXED and report.fixed_at is not None
    assert latest_change(report).public_note == "Filled and sealed."


def test_polling_twice_changes_nothing_the_second_time(tiny_city, council):
    report, request = file_and_deliver(tiny_city)
    council_says(council, request, "INVESTIGATING")
    status_sync.open311_statuses_poll()
    changes = report.history.count()

    again = status_sync.open311_statuses_poll()

    assert (again.moved, again.skipped) == (0, 0) and report.history.count() == changes
    assert Report.objects.get(pk=report.pk).state == ReportState.VERIFIED
    # status_notes only repeated the status ("Verified"): no public note is made of it.
    assert latest_change(report).public_note == ""


def test_the_next_poll_asks_from_when_the_last_one_started(tiny_city, council):
    file_and_deliver(tiny_city)

    status_sync.open311_statuses_poll()
    first = StatusPoll.objects.get()
    status_sync.open311_statuses_poll()
    second = StatusPoll.objects.get()

    assert first.polled_at is not None and second.polled_at is not None
    assert first.polled_at < second.polled_at and second.last_error == ""
    assert status_sync._since(second.destination) == second.polled_at - status_sync.OVERLAP


def test_a_token_is_resolved_through_the_councils_tokens_endpoint(tiny_city, council):
    report, request = file_and_deliver(tiny_city)
    # As if the council had answered with a token (Fixpoint's token is the request id itself).
    Delivery.objects.filter(report=report).update(remote_id=f"token:{request.ref}")
    council_says(council, request, "CLOSED", "Resurfacing the whole street in June.")

    summary = status_sync.open311_statuses_poll()

    assert summary.resolved == 1 and Delivery.objects.get(report=report).remote_id == request.ref
    assert Report.objects.get(pk=report.pk).state == ReportState.CLOSED


def test_a_move_the_transition_table_does_not_allow_is_left_out(tiny_city, council):
    report, request = file_and_deliver(tiny_city)
    report_transition(report_id=report.pk, to_state=ReportState.FIXED, actor=report.reporter)
    council_says(council, request, "IN_PROGRESS")  # fixed cannot go to in progress

    summary = status_sync.open311_statuses_poll()

    assert (summary.moved, summary.skipped) == (0, 1)
    assert Report.objects.get(pk=report.pk).state == ReportState.FIXED


def test_a_report_we_marked_as_spam_is_not_reopened_by_the_council(tiny_city, council):
    report, request = file_and_deliver(tiny_city)
    report_transition(report_id=report.pk, to_state=ReportState.SPAM, actor=tiny_city.west_staff)
    council_says(council, request, "IN_PROGRESS")

    summary = status_sync.open311_statuses_poll()

    assert (summary.moved, summary.skipped) == (0, 0)
    assert Report.objects.get(pk=report.pk).state == ReportState.SPAM


def test_an_unreachable_council_is_recorded_and_asked_again_from_the_same_time(tiny_city, council):
    file_and_deliver(tiny_city)
    status_sync.open311_statuses_poll()
    before = StatusPoll.objects.get()
    AuthorityCategory.objects.filter(pk=before.destination_id).update(
        endpoint_url="http://127.0.0.1:9/open311/v2/"  # the discard port: nothing listens
    )

    summary = status_sync.open311_statuses_poll()

    after = StatusPoll.objects.get()
    assert summary.failed == 1 and "unreachable" in after.last_error
    assert after.polled_at == before.polled_at and after.attempted_at > before.attempted_at


def test_only_open311_destinations_with_sent_deliveries_are_asked(tiny_city, council):
    # The bins' destination is e-mail; the potholes' one (Open311) has sent nothing yet.
    assert list(status_sync.destinations_to_poll()) == []

    file_and_deliver(tiny_city)

    [destination] = status_sync.destinations_to_poll()
    assert (destination.authority, destination.category) == (tiny_city.west, tiny_city.pothole)


def test_the_command_runs_one_poll_and_beat_runs_it_every_five_minutes(tiny_city, council):
    _, request = file_and_deliver(tiny_city)
    council_says(council, request, "IN_PROGRESS")
    out = io.StringIO()

    call_command("sync_open311_status", stdout=out)

    assert "1 destinations asked (0 failed), 1 reports moved" in out.getvalue()
    entry = settings.CELERY_BEAT_SCHEDULE["sync-open311-status"]
    assert entry == {"task": "reports.tasks.sync_open311_status", "schedule": 300.0}


@pytest.mark.parametrize(
    ("status", "detailed", "current", "expected"),
    [
        ("open", "INVESTIGATING", "open", "verified"),
        ("open", "ACTION_SCHEDULED", "open", "in_progress"),
        ("closed", "NO_FURTHER_ACTION", "open", "closed"),
        ("closed", "DUPLICATE", "in_progress", "closed"),  # needs our original: plain closed
        ("closed", "", "fixed", "fixed"),  # plain GeoReport v2: already a closed kind
        ("closed", "", "open", "closed"),
        ("open", "", "verified", "verified"),  # already an open kind
        ("open", "OPEN", "in_progress", "in_progress"),
        ("open", "", "closed", "open"),  # reopened at the council
        ("archived", "", "open", None),
    ],
)
def test_open311_statuses_map_to_our_states(status, detailed, current, expected):
    request = {"status": status, "detailed_status": detailed}
    assert status_sync.incoming_state(request, current) == expected
