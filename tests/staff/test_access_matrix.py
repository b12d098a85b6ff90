"""The access matrix: for each role at each of two districts, every staff page, admin page,
export and staff API endpoint is tried against the other district's report. Every one must
refuse or show nothing of it (0 leaks), and nothing about the report may change."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from authorities.models import AuthorityCategory, StaffMembership, StaffRole
from reports import services
from reports.models import (
    AuditEntry,
    Report,
    ReportStateChange,
    ReportUpdate,
    ResponseTemplate,
    Subscription,
    Support,
)
from reports.staff.services import audit_record
from tests import factories

SECRET_EMAIL = "secret.reporter@example.org"
SECRET_NOTE = "SECRET-INTERNAL-NOTE"


def _their_report(tiny_city: Any, authority: Any, point: tuple[float, float]) -> Report:
    their_staff = factories.staff(authority, role=StaffRole.ADMINISTRATOR)
    reporter = factories.UserFactory.create(email=SECRET_EMAIL)
    report = factories.report(tiny_city.pothole, *point, reporter=reporter, title="Their hole")
    services.report_transition(
        report_id=report.pk, to_state="verified", actor=their_staff, internal_note=SECRET_NOTE
    )
    services.report_update_add(
        report_id=report.pk, author=None, text="Still there", author_name="X"
    )
    services.support_add(report_id=report.pk, email="fan@example.org")
    ResponseTemplate.objects.create(title="Theirs", text="Their text", authority=authority)
    audit_record(actor=their_staff, action="export", authority=authority)
    return Report.objects.get(pk=report.pk)


def _snapshot(report: Report) -> tuple[Any, ...]:
    fresh = Report.objects.get(pk=report.pk)
    return (
        fresh.state,
        fresh.priority,
        fresh.assignee_id,
        fresh.category_id,
        fresh.authority_id,
        fresh.title,
        fresh.description,
        fresh.history.count(),
        sorted(fresh.deliveries.values_list("status", "attempts")),
        sorted(fresh.updates.values_list("is_hidden", flat=True)),
        fresh.supports.count(),
        Subscription.objects.count(),
        sorted(ResponseTemplate.objects.values_list("title", "text")),
        StaffMembership.objects.count(),
    )


def _staff_requests(report: Report, other: Any) -> list[tuple[str, str, dict[str, Any]]]:
    work = reverse("staff:report", args=[report.pk])
    delivery = report.deliveries.get()
    actions: list[dict[str, Any]] = [
        {"action": "transition", "to_state": "in_progress", "public_note": "x"},
        {"action": "transition", "to_state": "", "internal_note": "x"},
        {"action": "assign", "assignee": ""},
        {"action": "priority", "priority": "urgent"},
        {"action": "recategorise", "category": report.category_id},
        {"action": "duplicate", "original": report.ref},
        {"action": "spam", "internal_note": "x"},
        {"action": "moderate", "title": "Redacted", "description": "Redacted"},
        {"action": "resend", "delivery": delivery.pk},
    ]
    bulk = [
        {"reports": [report.pk], "action": name, "to_state": "fixed", "assignee": ""}
        for name in ("verify", "transition", "assign", "spam")
    ]
    queue = reverse("staff:queue")
    filters = [
        {"q": report.ref},
        {"q": "Their hole"},
        {"authority": other.pk},
        {"state": "verified"},
        {},
    ]
    exports = [reverse("staff:export"), reverse("staff:stats")]
    return [
        ("get", work, {}),
        *[("post", work, data) for data in actions],
        *[("post", reverse("staff:bulk"), data) for data in bulk],
        *[("get", queue, data) for data in filters],
        *[("get", url, data) for url in exports for data in filters],
    ]


def _admin_requests(report: Report, other: Any) -> list[tuple[str, str, dict[str, Any]]]:
    objects = {
        "reports_report": report.pk,
        "reports_reportstatechange": ReportStateChange.objects.filter(report=report)
        .latest("id")
        .pk,
        "reports_reportupdate": ReportUpdate.objects.get(report=report).pk,
        "reports_support": Support.objects.get(report=report).pk,
        "reports_delivery": report.deliveries.get().pk,
        "reports_responsetemplate": ResponseTemplate.objects.get(authority=other).pk,
        "reports_auditentry": AuditEntry.objects.filter(authority=other).latest("id").pk,
        "authorities_authority": other.pk,
        "authorities_authoritycategory": AuthorityCategory.objects.get(authority=other).pk,
        "authorities_staffmembership": StaffMembership.objects.filter(authority=other)
        .latest("id")
        .pk,
    }
    found: list[tuple[str, str, dict[str, Any]]] = []
    for name, pk in objects.items():
        changelist = reverse(f"admin:{name}_changelist")
        found += [
            ("get", changelist, {}),
            ("get", changelist, {"q": report.ref}),
            ("get", changelist, {"q": "secret"}),
            ("get", reverse(f"admin:{name}_change", args=[pk]), {}),
            ("get", reverse(f"admin:{name}_history", args=[pk]), {}),
            ("post", reverse(f"admin:{name}_delete", args=[pk]), {"post": "yes"}),
        ]
    change = reverse("admin:reports_report_change", args=[report.pk])
    found.append(("post", change, {"_transition": "1", "to_state": "fixed"}))
    deliveries = reverse("admin:reports_delivery_changelist")
    for action in ("resend", "mark_as_sent"):
        selected = [report.deliveries.get().pk]
        found.append(("post", deliveries, {"action": action, "_selected_action": selected}))
    return found


def _api_requests(report: Report) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"/api/v1/reports/{report.pk}"
    return [
        ("post", f"{base}/transition/", {"state": "in_progress", "internal_note": "x"}),
        ("post", f"{base}/assign/", {"assignee": None}),
        ("post", f"{base}/priority/", {"priority": "urgent"}),
        ("post", f"{base}/reroute/", {"latitude": 10.06, "longitude": 1.06}),
    ]


def _leak(response: Any, report: Report, public: bool, data: dict[str, Any]) -> str | None:
    if response.status_code >= 500:
        return f"{response.status_code}"
    if response.status_code in (301, 302, 403, 404, 405, 409):
        return None
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode(errors="replace")
    markers = [SECRET_EMAIL, SECRET_NOTE, "Their text", "fan@example.org"]
    if not public:  # staff and admin pages must not show the report at all
        markers += [report.ref, "Their hole"]
    echoed = {str(value) for value in data.values()}  # a search box shows what was searched
    return next((m for m in markers if m in text and m not in echoed), None)


@pytest.mark.parametrize("role", StaffRole.values)
@pytest.mark.parametrize("home", ["west", "east"])
def test_staff_of_one_district_neither_see_nor_change_the_other_districts_reports(
    client, tiny_city, home, role
):
    own, other, point = (
        (tiny_city.west, tiny_city.east, tiny_city.EAST)
        if home == "west"
        else (tiny_city.east, tiny_city.west, tiny_city.WEST)
    )
    user = factories.staff(own, role=role)
    factories.report(tiny_city.pothole, *(tiny_city.WEST if home == "west" else tiny_city.EAST))
    report = _their_report(tiny_city, other, point)
    before = _snapshot(report)
    client.force_login(user)

    tried, leaks = 0, []
    for public, requests in (
        (False, _staff_requests(report, other)),
        (False, _admin_requests(report, other)),
        (True, _api_requests(report)),
    ):
        for method, url, data in requests:
            if method == "get":
                response = client.get(url, data)
            elif url.startswith("/api/"):
                response = client.post(url, data, content_type="application/json")
            else:
                response = client.post(url, data)
            tried += 1
            if api_write := url.startswith("/api/") and response.status_code < 400:
                leaks.append(f"{method} {url}: {response.status_code}")
            elif not api_write and (found := _leak(response, report, public, data)):
                leaks.append(f"{method} {url} {data}: {found}")

    assert tried > 90
    assert leaks == [], "\n".join(leaks)
    assert _snapshot(report) == before


def test_the_work_page_of_another_authoritys_report_is_the_same_404_as_a_missing_one(
    client, tiny_city
):
    report = factories.report(tiny_city.pothole, *tiny_city.EAST)
    client.force_login(tiny_city.west_staff)

    theirs = client.get(reverse("staff:report", args=[report.pk]))
    missing = client.get(reverse("staff:report", args=[report.pk + 1000]))

    assert theirs.status_code == missing.status_code == 404


def test_a_viewer_changes_nothing_through_the_staff_api(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    viewer = factories.staff(tiny_city.west, role=StaffRole.VIEWER)
    client.force_login(viewer)
    before = _snapshot(report)

    codes = [
        client.post(url, data, content_type="application/json").status_code
        for _, url, data in _api_requests(report)
    ]

    assert codes == [403, 403, 403, 403]
    assert _snapshot(report) == before


def test_a_superuser_sees_every_authoritys_reports(client, tiny_city):
    west = factories.report(tiny_city.pothole, *tiny_city.WEST)
    east = factories.report(tiny_city.pothole, *tiny_city.EAST)
    client.force_login(factories.UserFactory.create(is_superuser=True, is_staff=True))

    html = client.get(reverse("staff:queue")).content.decode()

    assert west.ref in html and east.ref in html
    assert client.get(reverse("staff:report", args=[east.pk])).status_code == 200


def test_the_assign_endpoint_does_not_tell_outsiders_which_accounts_exist(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(factories.UserFactory.create())
    url = f"/api/v1/reports/{report.pk}/assign/"

    known = client.post(url, {"assignee": tiny_city.west_staff.email}, "application/json")
    unknown = client.post(url, {"assignee": "nobody@example.org"}, "application/json")

    assert known.status_code == unknown.status_code == 403
    assert known.json() == unknown.json()
