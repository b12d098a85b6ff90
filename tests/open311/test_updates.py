from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from reports.models import Report, ReportState, ReportStateChange, ReportUpdate
from reports.services import report_transition
from tests import factories
from tests.conftest import TinyCity

from .conftest import Keys
from .helpers import assert_xml_matches, valid_json, xml_root

pytestmark = pytest.mark.django_db
URL = "/open311/v2/servicerequestupdates.json"


@pytest.fixture
def report(tiny_city: TinyCity) -> Report:
    return factories.report(tiny_city.pothole, *tiny_city.WEST)


def update(keys: Keys, report: Report, **fields: Any) -> dict[str, Any]:
    return {
        "api_key": keys.west_system,
        "service_request_id": report.ref,
        "status": "IN_PROGRESS",
        "description": "Crew booked for Tuesday.",
        "update_id": "crm-77",
        "updated_datetime": "2026-05-01T10:00:00+02:00",
        **fields,
    }


def test_the_authoritys_system_moves_a_report_as_the_system_with_a_public_note(
    client: Client, tiny_city: TinyCity, keys: Keys, report: Report
) -> None:
    [row] = valid_json(client.post(URL, update(keys, report)), "updates-post")
    change = ReportStateChange.objects.get(pk=int(row["update_id"]))
    assert (change.report_id, change.from_state, change.to_state) == (
        report.pk,
        "open",
        "in_progress",
    )
    assert (change.actor, change.actor_kind, change.public_note) == (
        None,
        "system",
        "Crew booked for Tuesday.",
    )
    [listed] = valid_json(client.get(f"/open311/v2/requests/{report.ref}.json"), "requests")
    assert (listed["status_notes"], listed["detailed_status"]) == (
        "Crew booked for Tuesday.",
        "IN_PROGRESS",
    )


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("closed", "closed"),
        ("FIXED", "fixed"),
        ("INVESTIGATING", "verified"),
        ("ACTION_SCHEDULED", "in_progress"),
        ("NO_FURTHER_ACTION", "closed"),
        ("NOT_COUNCILS_RESPONSIBILITY", "not_responsible"),
        ("internal_referral", "not_responsible"),
    ],
)
def test_extended_statuses_map_to_fixpoint_states(
    client: Client, keys: Keys, report: Report, status: str, state: str
) -> None:
    valid_json(client.post(URL, update(keys, report, status=status)), "updates-post")
    report.refresh_from_db()
    assert report.state == state


def test_post_update_answers_in_xml(client: Client, keys: Keys, report: Report) -> None:
    response = client.post("/open311/v2/servicerequestupdates.xml", update(keys, report))
    root = xml_root(response, "service_request_updates")
    change = report.history.order_by("-id")[0]
    assert_xml_matches(root[0], {"update_id": str(change.pk)})


@pytest.mark.parametrize(
    ("fields", "status", "description"),
    [
        ({"service_request_id": ""}, 400, "service_request_id is required."),
        ({"status": ""}, 400, "status is required."),
        ({"status": "DONE"}, 400, "status 'DONE' is not one of"),
        ({"service_request_id": "NOPE"}, 404, "There is no service request 'NOPE'."),
        ({"status": "OPEN"}, 409, "The report is already “Open”"),  # as the REST API
        ({"status": "DUPLICATE"}, 400, "status 'DUPLICATE' is not one of"),
        ({"api_key": ""}, 403, "api_key is missing"),
        ({"jurisdiction_id": "elsewhere"}, 404, "jurisdiction_id 'elsewhere' is unknown"),
    ],
)
def test_a_bad_update_is_refused_in_the_error_format(
    client: Client,
    keys: Keys,
    report: Report,
    fields: dict[str, str],
    status: int,
    description: str,
) -> None:
    [error] = valid_json(client.post(URL, update(keys, report, **fields)), "errors", status)
    assert error["description"].startswith(description)
    report.refresh_from_db()
    assert report.state == "open"


def test_a_move_the_state_machine_refuses_is_409_as_on_the_rest_api(
    client: Client, tiny_city: TinyCity, keys: Keys, report: Report
) -> None:
    report_transition(report_id=report.pk, to_state="closed", actor=tiny_city.west_staff)
    [error] = valid_json(client.post(URL, update(keys, report, status="FIXED")), "errors", 409)
    assert error["description"] == "A report cannot go from “Closed” to “Fixed”."


def test_a_key_for_another_authoritys_staff_is_403(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    east_report = factories.report(tiny_city.pothole, *tiny_city.EAST)
    for key in (keys.west_system, keys.write):
        response = client.post(URL, update(keys, east_report, api_key=key))
        [error] = valid_json(response, "errors", 403)
        assert (
            error["description"] == "This API key does not act for staff of the report's authority."
        )
    assert ReportStateChange.objects.filter(report=east_report).count() == 1


def test_updates_of_hidden_reports_are_404(client: Client, tiny_city: TinyCity, keys: Keys) -> None:
    hidden = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ann", reporter_email="ann@example.org"
    )
    valid_json(client.post(URL, update(keys, hidden)), "errors", 404)


# --- A citizen's update passed on by the account that filed the report --------------------------


@pytest.fixture
def filed(tiny_city: TinyCity, keys: Keys) -> Report:
    """A report another Fixpoint (a partner's key that files as its own account) sent here."""
    return factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=keys.write_user)


def passed_on(keys: Keys, report: Report, **fields: Any) -> dict[str, Any]:
    """What a Fixpoint or a FixMyStreet sends for its citizen's update (mySociety's fields)."""
    citizens = {
        "api_key": keys.write,
        "status": "OPEN",
        "description": "Cars swerve round it now.",
        "update_id": "4411",
        "first_name": "Jordi",
        "last_name": "Vila",
        "email": "jordi@example.org",
        "public_anonymity_required": "FALSE",
    }
    return update(keys, report, **{**citizens, **fields})


def test_the_account_that_filed_a_report_passes_on_a_citizens_comment(
    client: Client, keys: Keys, filed: Report
) -> None:
    [row] = valid_json(client.post(URL, passed_on(keys, filed)), "updates-post")

    comment = ReportUpdate.objects.get(report=filed)
    assert row["update_id"] == f"comment-{comment.pk}"
    assert (comment.author, comment.author_name, comment.show_name, comment.opinion) == (
        keys.write_user,
        "Jordi Vila",
        True,
        "",
    )
    assert comment.text == "Cars swerve round it now."
    assert Report.objects.get(pk=filed.pk).state == "open" and filed.history.count() == 1
    shown = client.get(f"/api/v1/reports/{filed.pk}/").json()["updates"]
    assert [(u["text"], u["author"]) for u in shown] == [
        ("Cars swerve round it now.", "Jordi Vila")
    ]


def test_a_comment_is_anonymous_unless_the_sender_says_the_name_may_be_shown(
    client: Client, keys: Keys, filed: Report
) -> None:
    fields = passed_on(keys, filed)
    del fields["public_anonymity_required"]

    valid_json(client.post(URL, fields), "updates-post")

    assert ReportUpdate.objects.get(report=filed).show_name is False


@pytest.mark.parametrize("status", ["OPEN", "REOPEN", "open"])
def test_open_again_from_the_filer_reopens_its_fixed_report_with_the_reason(
    client: Client, tiny_city: TinyCity, keys: Keys, filed: Report, status: str
) -> None:
    report_transition(report_id=filed.pk, to_state="fixed", actor=tiny_city.west_staff)

    fields = passed_on(keys, filed, status=status, description="They filled the wrong hole.")
    valid_json(client.post(URL, fields), "updates-post")

    filed.refresh_from_db()
    reopening = filed.history.order_by("-id")[0]
    assert filed.state == "open"
    assert (reopening.actor_kind, reopening.actor, reopening.public_note) == (
        "reporter",
        keys.write_user,
        "They filled the wrong hole.",
    )
    assert ReportUpdate.objects.get(report=filed).opinion == "still_a_problem"


@pytest.mark.parametrize(
    ("state", "status"), [("open", "CLOSED"), ("open", "FIXED"), ("closed", "OPEN")]
)
def test_any_other_status_from_the_filer_moves_nothing(
    client: Client, tiny_city: TinyCity, keys: Keys, filed: Report, state: str, status: str
) -> None:
    if state != "open":
        report_transition(report_id=filed.pk, to_state=state, actor=tiny_city.west_staff)

    valid_json(client.post(URL, passed_on(keys, filed, status=status)), "updates-post")

    filed.refresh_from_db()
    assert filed.state == state and ReportUpdate.objects.get(report=filed).opinion == ""


def test_a_retry_with_the_same_idempotency_key_adds_no_second_comment(
    client: Client, keys: Keys, filed: Report
) -> None:
    first = client.post(URL, passed_on(keys, filed), HTTP_IDEMPOTENCY_KEY="update-9-ABC")
    again = client.post(URL, passed_on(keys, filed), HTTP_IDEMPOTENCY_KEY="update-9-ABC")

    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert ReportUpdate.objects.filter(report=filed).count() == 1


@pytest.mark.parametrize(
    ("fields", "description"),
    [
        ({"description": ""}, "description is required."),
        ({"description": "x" * 5001}, "description may be at most 5,000 characters."),
    ],
)
def test_a_filers_update_without_usable_text_is_400(
    client: Client, keys: Keys, filed: Report, fields: dict[str, str], description: str
) -> None:
    [error] = valid_json(client.post(URL, passed_on(keys, filed, **fields)), "errors", 400)

    assert error["description"] == description
    assert not ReportUpdate.objects.filter(report=filed).exists()


def test_the_authoritys_own_system_still_moves_a_report_it_filed(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    own = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=tiny_city.west_staff)

    valid_json(client.post(URL, update(keys, own, status="FIXED")), "updates-post")

    own.refresh_from_db()
    assert own.state == "fixed" and not ReportUpdate.objects.filter(report=own).exists()


def test_get_lists_public_status_changes_since_a_date_oldest_first(
    client: Client, tiny_city: TinyCity, report: Report
) -> None:
    now = timezone.now()
    staff = tiny_city.west_staff
    report_transition(
        report_id=report.pk, to_state="verified", actor=staff, at=now - timedelta(days=10)
    )
    report_transition(
        report_id=report.pk,
        to_state="fixed",
        actor=staff,
        public_note="Done.",
        internal_note="secret",
        at=now - timedelta(days=1),
    )
    spam = factories.report(tiny_city.pothole, *tiny_city.WEST)
    report_transition(report_id=spam.pk, to_state=ReportState.SPAM, actor=staff)
    query = {"start_date": (now - timedelta(days=5)).isoformat()}
    data = valid_json(client.get(URL, query), "updates")
    fixed = report.history.get(to_state="fixed")
    assert data == [
        {
            "update_id": str(fixed.pk),
            "service_request_id": report.ref,
            "status": "FIXED",
            "updated_datetime": timezone.localtime(fixed.created_at).isoformat(timespec="seconds"),
            "description": "Done.",
            "media_url": "",
        }
    ]
    everything = valid_json(client.get(URL), "updates")
    assert [row["status"] for row in everything] == ["INVESTIGATING", "FIXED"]
    root = xml_root(
        client.get("/open311/v2/servicerequestupdates.xml", query), "service_request_updates"
    )
    assert [e.tag for e in root] == ["request_update"]
    assert_xml_matches(root[0], data[0])


def test_get_updates_with_start_after_end_is_400(client: Client, tiny_city: TinyCity) -> None:
    query = "start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z"
    [error] = valid_json(client.get(f"{URL}?{query}"), "errors", 400)
    assert error["description"] == "start_date is after end_date."


def test_get_updates_costs_one_query(
    client: Client, tiny_city: TinyCity, django_assert_num_queries: Any
) -> None:
    for _ in range(4):
        made = factories.report(tiny_city.pothole, *tiny_city.WEST)
        report_transition(report_id=made.pk, to_state="verified", actor=tiny_city.west_staff)
    with django_assert_num_queries(1):
        assert len(client.get(URL).json()) == 4
