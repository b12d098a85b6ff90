"""Reports staff take for someone else: a caller, someone anonymous, or their own authority
(contact centre, counter, inspector), from /staff/reports/new/ and POST /api/v1/reports/."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from authorities.models import StaffRole
from reports import services
from reports.exceptions import NotAllowed
from reports.models import AuditEntry, Report, ReportState
from reports.staff.services import Caller, report_enter
from tests import factories


def _enter(tiny_city: Any, actor: Any, entered_for: str, caller: Caller | None = None) -> Report:
    return report_enter(
        actor=actor,
        entered_for=entered_for,
        caller=caller,
        title="Broken bench",
        description="Phoned in",
        category=tiny_city.pothole,
        latitude=tiny_city.WEST[0],
        longitude=tiny_city.WEST[1],
    )


def test_a_callers_report_is_open_at_once_audited_and_the_caller_is_emailed_without_account(
    tiny_city, mailoutbox, django_capture_on_commit_callbacks
):
    caller = Caller(name="Marta Puig", email="Marta@Example.org", phone="+34 600 111 222")

    with django_capture_on_commit_callbacks(execute=True):
        report = _enter(tiny_city, tiny_city.west_staff, "caller", caller)

    assert report.state == ReportState.OPEN and report.reporter is None
    assert (report.entered_by, report.entered_for) == (tiny_city.west_staff, "caller")
    assert (report.reporter_email, report.reporter_phone) == (
        "marta@example.org",
        "+34 600 111 222",
    )
    assert report.history.get().actor == tiny_city.west_staff
    assert report.deliveries.count() == 1
    entry = AuditEntry.objects.get(action="entered")
    assert entry.actor == tiny_city.west_staff and entry.after["for"] == "caller"
    [received] = [m for m in mailoutbox if m.to == ["marta@example.org"]]
    assert report.ref in received.body and "confirm" not in received.body.lower()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk,
            to_state="verified",
            actor=tiny_city.west_staff,
            public_note="On it",
        )
    assert [m.to for m in mailoutbox] == [["marta@example.org"]]


def test_an_anonymous_report_keeps_no_contact_and_an_authoritys_own_is_signed_by_it(tiny_city):
    anonymous = _enter(tiny_city, tiny_city.west_staff, "anonymous")
    own = _enter(tiny_city, tiny_city.west_staff, "authority")

    assert (anonymous.reporter_name, anonymous.reporter_email) == ("", "")
    assert anonymous.public_reporter_name == "Anonymous"
    assert own.public_reporter_name == "West" and own.state == ReportState.OPEN


def test_only_staff_with_the_permission_at_the_routed_authority_may_file_for_others(tiny_city):
    viewer = factories.staff(tiny_city.west, role=StaffRole.VIEWER)
    citizen = factories.UserFactory.create()

    for actor in (viewer, citizen, tiny_city.east_staff):  # east staff, a west point
        with pytest.raises(NotAllowed):
            _enter(tiny_city, actor, "anonymous")
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("caller", "field"),
    [
        (Caller(), "name"),
        (Caller(email="not-an-address"), "email"),
        (Caller(phone="ring"), "phone"),
    ],
)
def test_a_caller_needs_a_usable_contact(tiny_city, caller, field):
    with pytest.raises(ValidationError) as refused:
        _enter(tiny_city, tiny_city.west_staff, "caller", caller)

    assert field in refused.value.message_dict
    assert not Report.objects.exists()


FILING = {"title": "Fallen sign", "description": "From the counter", "category": "pothole"}


def _filing(tiny_city: Any, **more: Any) -> dict[str, Any]:
    return {**FILING, "latitude": tiny_city.WEST[0], "longitude": tiny_city.WEST[1], **more}


def test_the_api_files_for_a_caller_or_as_the_authority_for_staff_with_the_permission(tiny_city):
    api = APIClient()
    api.force_authenticate(tiny_city.west_staff)

    caller = {"name": "Joan", "email": "joan@example.org", "phone": "93 000 00 00"}
    for_caller = api.post(
        "/api/v1/reports/", _filing(tiny_city, on_behalf_of=caller), format="json"
    )
    own = api.post("/api/v1/reports/", _filing(tiny_city, as_authority=True), format="json")
    anonymous = api.post(
        "/api/v1/reports/", _filing(tiny_city, on_behalf_of={"anonymous": True}), format="json"
    )

    assert (for_caller.status_code, own.status_code, anonymous.status_code) == (201, 201, 201)
    reports = Report.objects.order_by("id")
    assert [r.entered_for for r in reports] == ["caller", "authority", "anonymous"]
    assert reports[0].reporter_email == "joan@example.org" and reports[0].state == "open"


@pytest.mark.parametrize("extra", [{"on_behalf_of": {"name": "Joan"}}, {"as_authority": True}])
def test_anybody_else_sending_on_behalf_of_or_as_authority_gets_403(tiny_city, extra):
    api = APIClient()
    api.force_authenticate(factories.UserFactory.create())

    response = api.post("/api/v1/reports/", _filing(tiny_city, **extra), format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_allowed"
    assert not Report.objects.exists()


def test_staff_file_for_a_caller_from_the_staff_pages(client, tiny_city):
    client.force_login(tiny_city.west_staff)
    page = client.get(reverse("staff:report-new"))
    assert page.status_code == 200

    response = client.post(
        reverse("staff:report-new"),
        {
            "entered_for": "caller",
            "caller_name": "Pere",
            "caller_phone": "600 000 000",
            "category": tiny_city.pothole.pk,
            "title": "Loose paving",
            "description": "Called at 9:05",
            "latitude": tiny_city.WEST[0],
            "longitude": tiny_city.WEST[1],
        },
    )

    report = Report.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{report.pk}/")
    work = client.get(response["Location"]).content.decode()
    assert 'id="entered-by"' in work and "600 000 000" in work


def test_the_staff_form_shows_what_is_wrong_and_a_viewer_cannot_open_it(client, tiny_city):
    client.force_login(tiny_city.west_staff)
    response = client.post(
        reverse("staff:report-new"),
        {
            "entered_for": "caller",
            "category": tiny_city.pothole.pk,
            "title": "T",
            "description": "D",
            "latitude": 10.05,
            "longitude": 1.05,
        },
    )
    assert response.status_code == 400 and not Report.objects.exists()
    assert "Give the caller" in response.content.decode()

    client.force_login(factories.staff(tiny_city.west, role=StaffRole.VIEWER))
    assert client.get(reverse("staff:report-new")).status_code == 403


def test_the_staff_form_asks_the_chosen_categorys_questions(client, tiny_city):
    from authorities.models import CategoryQuestion

    CategoryQuestion.objects.create(
        category=tiny_city.pothole, code="depth", label="How deep?", required=True
    )
    client.force_login(tiny_city.west_staff)
    filing = {
        "entered_for": "anonymous",
        "category": tiny_city.pothole.pk,
        "title": "Hole",
        "description": "Deep",
        "latitude": 10.05,
        "longitude": 1.05,
    }

    missing = client.post(reverse("staff:report-new"), filing)
    field = f"q_{tiny_city.pothole.pk}_depth"
    answered = client.post(reverse("staff:report-new"), {**filing, field: "30 cm"})

    assert missing.status_code == 400 and "How deep?: an answer is required." in missing.text
    assert answered.status_code == 302 and Report.objects.get().extra == {"depth": "30 cm"}
