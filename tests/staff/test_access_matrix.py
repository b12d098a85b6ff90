"""The access matrix: for each role at each of two districts, every staff page, admin page,
export and staff API endpoint is tried against the other district's report. Every one must
refuse or show nothing of it (0 leaks), and nothing about the report may change."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from authorities.models import AuthorityCategory, StaffMembership, StaffRole
from reports import services
from reports.audit import audit_record
from reports.models import (
    AuditEntry,
    Report,
    ReportStateChange,
    ReportUpdate,
    ResponseTemplate,
    Subscription,
    Support,
)
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
        fresh.is_private,
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
        {"action": "privacy", "private": "1", "reason": "x"},
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


# --- Private reports ---------------------------------------------------------------------------

PRIVATE_TITLE = "Abandoned van PRIVATE-PLATE-123"


def _public_requests(report: Report) -> list[tuple[str, dict[str, Any]]]:
    """Every surface anybody may read: pages, the site's JSON, the feed, the API, Open311."""
    lat, lon = report.latitude, report.longitude
    box = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    return [
        ("/", {}),
        (report.get_absolute_url(), {}),
        (reverse("reports:feed", args=[report.ref]), {}),
        ("/map/reports.json", {"bbox": box, "zoom": 18}),
        ("/map/reports.json", {"bbox": box, "zoom": 10}),
        ("/map/list.json", {"bbox": box}),
        ("/search.json", {"q": "PRIVATE-PLATE-123"}),
        ("/nearby.json", {"lat": lat, "lon": lon, "category": report.category.slug}),
        ("/api/v1/reports/", {}),
        (f"/api/v1/reports/{report.pk}/", {}),
        ("/api/v1/reports/", {"format": "geojson"}),
        (f"/api/v1/authorities/{report.authority.slug}/stats/", {}),
        ("/open311/v2/requests.json", {}),
        ("/open311/v2/requests.xml", {}),
        (f"/open311/v2/requests/{report.ref}.json", {}),
        ("/open311/v2/servicerequestupdates.json", {}),
    ]


def _shows(response: Any, report: Report) -> bool:
    if response.status_code in (404, 410):
        return False
    assert response.status_code == 200, response.status_code
    text = response.content.decode()
    if response.wsgi_request.path.endswith("/stats/"):  # counts only: it must not be counted
        return bool(response.json()["total"])
    return report.ref in text or "PRIVATE-PLATE-123" in text


@pytest.fixture
def private_report(tiny_city: Any) -> Report:
    tiny_city.pothole.non_public = True
    tiny_city.pothole.save()
    reporter = factories.UserFactory.create(email=SECRET_EMAIL)
    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter=reporter, title=PRIVATE_TITLE
    )
    services.report_transition(
        report_id=report.pk, to_state="verified", actor=tiny_city.west_staff, public_note="Seen"
    )
    return Report.objects.get(pk=report.pk)


def test_a_private_report_is_on_no_public_surface_for_visitors_citizens_or_other_staff(
    client, tiny_city, private_report
):
    assert private_report.is_private
    viewers = [None, factories.UserFactory.create(), tiny_city.east_staff]
    leaks = []
    for viewer in viewers:
        client.logout()
        if viewer is not None:
            client.force_login(viewer)
        for url, data in _public_requests(private_report):
            if _shows(client.get(url, data), private_report):
                leaks.append(f"{viewer}: {url} {data}")
    assert leaks == []


@pytest.mark.parametrize("who", ["reporter", "own staff", "superuser"])
def test_its_reporter_and_the_authoritys_staff_still_see_a_private_report(
    client, tiny_city, private_report, who
):
    viewer = {
        "reporter": private_report.reporter,
        "own staff": tiny_city.west_staff,
        "superuser": factories.UserFactory.create(is_superuser=True, is_staff=True),
    }[who]
    client.force_login(viewer)
    page = client.get(private_report.get_absolute_url())
    assert page.status_code == 200
    assert PRIVATE_TITLE in page.content.decode()
    assert 'id="private-notice"' in page.content.decode()
    if who != "reporter":
        queue = client.get(reverse("staff:queue"))
        assert private_report.ref in queue.content.decode()
