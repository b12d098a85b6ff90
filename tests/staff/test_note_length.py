"""Every text staff write (public responses, internal notes, moderation reasons, response
templates) has one length limit, 5,000 characters, whichever way it comes in: the API, the work
page, a bulk action, the admin, Open311 or a service called directly. Longer is refused with a
clear error and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import ApiScope
from accounts.services import api_client_create
from config.errors import ApplicationError
from reports import services
from reports.models import AuditEntry, Report, ReportState, ReportStateChange, ResponseTemplate
from reports.staff import services as staff_services
from tests import factories

LIMIT = 5000


def _api(field: str) -> Callable[..., Any]:
    def act(client: Any, city: Any, report: Report, text: str) -> Any:
        client.force_login(city.west_staff)
        return client.post(
            f"/api/v1/reports/{report.pk}/transition/",
            {"state": "verified", field: text},
            content_type="application/json",
        )

    return act


def _page(**data: Any) -> Callable[..., Any]:
    def act(client: Any, city: Any, report: Report, text: str) -> Any:
        client.force_login(city.west_staff)
        filled = {k: text if v is None else v for k, v in data.items()}
        if data.get("action") == "duplicate":
            filled["original"] = Report.objects.exclude(pk=report.pk).get().ref
        if data.get("action") == "moderate":
            filled["description"] = report.description
        return client.post(reverse("staff:report", args=[report.pk]), filled)

    return act


def _bulk(client: Any, city: Any, report: Report, text: str) -> Any:
    client.force_login(city.west_staff)
    data = {"reports": [report.pk], "action": "transition", "to_state": "verified"}
    return client.post(reverse("staff:bulk"), {**data, "public_note": text})


def _admin(client: Any, city: Any, report: Report, text: str) -> Any:
    client.force_login(factories.UserFactory.create(is_superuser=True, is_staff=True))
    url = reverse("admin:reports_report_change", args=[report.pk])
    return client.post(url, {"_transition": "1", "to_state": "verified", "public_note": text})


def _open311(client: Any, city: Any, report: Report, text: str) -> Any:
    key = api_client_create(name="West CRM", scope=ApiScope.WRITE, user=city.west_staff)[1]
    data = {"api_key": key, "service_request_id": report.ref, "status": "IN_PROGRESS"}
    return client.post("/open311/v2/servicerequestupdates.json", {**data, "description": text})


def _service(act: Callable[[Any, Report, str], Any]) -> Callable[..., Any]:
    def run(client: Any, city: Any, report: Report, text: str) -> Any:
        try:
            act(city, report, text)
        except ApplicationError as exc:
            return exc
        return None

    return run


ENTRIES: dict[str, Callable[..., Any]] = {
    "API transition, public note": _api("public_note"),
    "API transition, internal note": _api("internal_note"),
    "work page, public response alone": _page(action="transition", to_state="", public_note=None),
    "work page, internal note alone": _page(action="transition", to_state="", internal_note=None),
    "work page, state change": _page(action="transition", to_state="verified", public_note=None),
    "work page, duplicate": _page(action="duplicate", public_note=None),
    "work page, spam": _page(action="spam", internal_note=None),
    "work page, moderation reason": _page(action="moderate", title="Hole", reason=None),
    "bulk action": _bulk,
    "admin": _admin,
    "Open311 servicerequestupdates": _open311,
    "report_transition": _service(
        lambda city, report, text: services.report_transition(
            report_id=report.pk, to_state="verified", actor=city.west_staff, internal_note=text
        )
    ),
    "report_note_add": _service(
        lambda city, report, text: staff_services.report_note_add(
            report_id=report.pk, actor=city.west_staff, internal_note=text
        )
    ),
    "report_moderate": _service(
        lambda city, report, text: staff_services.report_moderate(
            report_id=report.pk, actor=city.west_staff, title="Hole", reason=text
        )
    ),
    "response_template_save": _service(
        lambda city, report, text: staff_services.response_template_save(
            template=ResponseTemplate(title="Fixed", text=text, authority=city.west),
            actor=factories.UserFactory.create(is_superuser=True),
        )
    ),
}


def _written(report: Report) -> tuple[Any, ...]:
    current = Report.objects.get(pk=report.pk)
    return (
        ReportStateChange.objects.count(),
        AuditEntry.objects.exclude(action="login").count(),
        ResponseTemplate.objects.count(),
        current.state,
        current.title,
    )


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_staff_text_over_the_limit_is_refused_everywhere_and_nothing_is_written(
    client, tiny_city, entry
):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    factories.report(tiny_city.pothole, *tiny_city.WEST)  # the original a duplicate names
    before = _written(report)

    answer = ENTRIES[entry](client, tiny_city, report, "x" * (LIMIT + 1))

    assert _written(report) == before, entry
    assert answer is not None and getattr(answer, "status_code", 400) < 500
    if isinstance(answer, ApplicationError):
        assert "5,000 characters" in answer.message


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_staff_text_at_the_limit_is_accepted_everywhere(client, tiny_city, entry):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    factories.report(tiny_city.pothole, *tiny_city.WEST)  # the original a duplicate names
    before = _written(report)

    answer = ENTRIES[entry](client, tiny_city, report, "x" * LIMIT)

    assert not isinstance(answer, ApplicationError), answer
    assert _written(report) != before, entry


def test_the_api_names_the_field_that_is_too_long(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    response = _api("public_note")(client, tiny_city, report, "x" * (LIMIT + 1))

    assert response.status_code == 400
    assert "public_note" in response.json()["error"]["fields"]
    assert Report.objects.get(pk=report.pk).state == ReportState.OPEN


def test_a_councils_long_status_note_is_shortened_not_lost(tiny_city):
    from reports.delivery.status_sync import _public_note

    note = _public_note({"status": "open", "status_notes": "y" * (LIMIT + 50)}, "in_progress")

    assert len(note) == LIMIT and note.endswith("…")
