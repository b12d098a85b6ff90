"""Private reports: a non-public category, or staff's choice. Worked, delivered and followed by
their reporter like any other, but news to nobody else (the access matrix tries every public
surface: tests/staff/test_access_matrix.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from authorities.models import StaffRole
from config.errors import ApplicationError
from reports import delivery, notifications, services
from reports.exceptions import NotAllowed
from reports.models import AuditEntry, Report, ReportState, SubscriptionKind
from reports.staff import services as staff_services
from tests import factories


def test_a_report_in_a_non_public_category_is_private_from_its_filing_and_still_delivered(
    tiny_city, django_capture_on_commit_callbacks
):
    tiny_city.pothole.non_public = True
    tiny_city.pothole.save()

    with django_capture_on_commit_callbacks(execute=True):
        report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    assert report.is_private and not report.is_public
    assert report.deliveries.count() == 1
    assert not Report.objects.public().filter(pk=report.pk).exists()
    assert Report.objects.visible_to(report.reporter).filter(pk=report.pk).exists()


def test_staff_make_a_report_private_and_public_again_each_time_audited(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    staff_services.report_set_private(
        report_id=report.pk, actor=tiny_city.west_staff, private=True, reason="Names a person"
    )
    assert not Report.objects.public().filter(pk=report.pk).exists()
    staff_services.report_set_private(
        report_id=report.pk, actor=tiny_city.west_staff, private=False
    )

    assert Report.objects.public().filter(pk=report.pk).exists()
    entries = AuditEntry.objects.filter(action="privacy").order_by("id")
    assert [(e.before, e.after["private"]) for e in entries] == [
        ({"private": False}, True),
        ({"private": True}, False),
    ]
    assert entries[0].after["reason"] == "Names a person"


def test_a_viewer_or_another_authoritys_staff_cannot_change_a_reports_privacy(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    viewer = factories.staff(tiny_city.west, role=StaffRole.VIEWER)

    for actor in (viewer, tiny_city.east_staff):
        with pytest.raises(NotAllowed):
            staff_services.report_set_private(report_id=report.pk, actor=actor, private=True)
    with pytest.raises(ApplicationError, match="already public"):
        staff_services.report_set_private(
            report_id=report.pk, actor=tiny_city.west_staff, private=False
        )
    assert not Report.objects.get(pk=report.pk).is_private


def test_a_report_moved_into_a_non_public_category_becomes_private(tiny_city):
    sensitive = factories.CategoryFactory.create(slug="abandoned-vehicle", non_public=True)
    factories.authority("Vehicles", factories.square(1.0, 10.0, 0.2), categories=[sensitive])
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    delivery.report_reroute(report_id=report.pk, category=sensitive, actor=None)

    assert Report.objects.get(pk=report.pk).is_private


def test_a_private_report_alerts_no_area_and_only_its_reporter_hears_of_changes(
    tiny_city, mailoutbox, django_capture_on_commit_callbacks
):
    area_alert = notifications.subscription_create(
        email="near@example.org", kind=SubscriptionKind.AUTHORITY, authority=tiny_city.west
    )
    notifications.subscription_confirm(subscription_id=area_alert.pk)
    reporter = factories.UserFactory.create(email="rep@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)
    follower = notifications.subscription_create(
        email="fan@example.org", kind=SubscriptionKind.REPORT, report=report
    )
    notifications.subscription_confirm(subscription_id=follower.pk)
    assert "near@example.org" in [m.to[0] for m in mailoutbox]  # a public one: alerted
    tiny_city.pothole.non_public = True
    tiny_city.pothole.save()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        factories.report(tiny_city.pothole, *tiny_city.WEST, title="Van with plates")
    assert "near@example.org" not in [m.to[0] for m in mailoutbox]
    staff_services.report_set_private(report_id=report.pk, actor=tiny_city.west_staff, private=True)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_transition(
            report_id=report.pk, to_state=ReportState.VERIFIED, actor=tiny_city.west_staff
        )

    assert [m.to[0] for m in mailoutbox] == ["rep@example.org"]


def test_staff_make_a_report_private_from_its_work_page(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Graffiti naming Joan")
    client.force_login(tiny_city.west_staff)
    work = reverse("staff:report", args=[report.pk])

    response = client.post(work, {"action": "privacy", "private": "1", "reason": "A name"})

    assert response.status_code == 302
    page = client.get(work).content.decode()
    assert 'id="report-private"' in page
    client.logout()
    assert client.get(report.get_absolute_url()).status_code == 404


def test_staff_work_a_private_report_through_the_api_and_its_reporter_reads_it(tiny_city):
    from rest_framework.test import APIClient

    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    staff_services.report_set_private(report_id=report.pk, actor=tiny_city.west_staff, private=True)
    api = APIClient()
    api.force_authenticate(tiny_city.west_staff)

    moved = api.post(
        f"/api/v1/reports/{report.pk}/transition/", {"state": "verified"}, format="json"
    )
    made_public = api.post(
        f"/api/v1/reports/{report.pk}/privacy/", {"private": False}, format="json"
    )

    assert moved.status_code == 200 and moved.json()["state"] == "verified"
    assert made_public.status_code == 200 and made_public.json()["private"] is False
    assert Report.objects.public().filter(pk=report.pk).exists()
    staff_services.report_set_private(report_id=report.pk, actor=tiny_city.west_staff, private=True)
    api.force_authenticate(report.reporter)
    assert api.get(f"/api/v1/reports/{report.pk}/").status_code == 200
    api.force_authenticate(factories.UserFactory.create())
    assert api.get(f"/api/v1/reports/{report.pk}/").status_code == 404
    refused = api.post(f"/api/v1/reports/{report.pk}/privacy/", {"private": False}, format="json")
    assert refused.status_code == 404


def test_the_councils_system_updates_a_private_report_over_open311(client, tiny_city):
    from accounts.models import ApiScope
    from accounts.services import api_client_create

    key = api_client_create(name="West CRM", scope=ApiScope.WRITE, user=tiny_city.west_staff)[1]
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    staff_services.report_set_private(report_id=report.pk, actor=tiny_city.west_staff, private=True)

    response = client.post(
        "/open311/v2/servicerequestupdates.json",
        {"api_key": key, "service_request_id": report.ref, "status": "FIXED"},
    )

    assert response.status_code == 200
    assert Report.objects.get(pk=report.pk).state == ReportState.FIXED
