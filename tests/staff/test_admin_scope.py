"""Staff use the Django admin within their own authority, as far as their role allows."""

from __future__ import annotations

from django.urls import reverse

from authorities.models import StaffRole
from reports.models import Report, ReportState
from tests import factories


def test_an_inspector_lists_and_moves_their_authoritys_reports_in_the_admin(client, tiny_city):
    own = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Our hole")
    factories.report(tiny_city.pothole, *tiny_city.EAST, title="Their hole")
    client.force_login(tiny_city.west_staff)

    listing = client.get(reverse("admin:reports_report_changelist")).content.decode()
    change = reverse("admin:reports_report_change", args=[own.pk])
    client.post(change, {"_transition": "1", "to_state": "verified", "public_note": "Seen"})

    assert "Our hole" in listing and "Their hole" not in listing
    assert Report.objects.get(pk=own.pk).state == ReportState.VERIFIED


def test_a_viewer_reads_the_admin_but_cannot_move_a_report(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(factories.staff(tiny_city.west, role=StaffRole.VIEWER))
    change = reverse("admin:reports_report_change", args=[report.pk])

    page = client.get(change)
    response = client.post(change, {"_transition": "1", "to_state": "verified"})

    assert page.status_code == 200
    assert response.status_code == 403
    assert Report.objects.get().state == ReportState.OPEN


def test_citizens_without_staff_status_never_reach_the_admin(client, tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(factories.UserFactory.create())

    response = client.get(reverse("admin:reports_report_changelist"))

    assert response.status_code == 302  # to the admin's log-in page
