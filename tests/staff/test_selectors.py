"""Staff see the reports of their own authorities only, filtered as they ask."""

from __future__ import annotations

from datetime import timedelta

from django.test import RequestFactory
from django.utils import timezone

from authorities import permissions
from authorities.models import StaffRole
from reports import services
from reports.models import Priority, Report, ReportState
from reports.selectors import reports_visible_to
from reports.staff import selectors
from reports.staff.filters import StaffReportFilter
from tests import factories


def _filter(user, **params):
    request = RequestFactory().get("/staff/", params)
    request.user = user
    return StaffReportFilter(request.GET, request=request)


def test_staff_see_only_their_authoritys_reports_and_superusers_all(tiny_city):
    west = factories.report(tiny_city.pothole, *tiny_city.WEST)
    east = factories.report(tiny_city.pothole, *tiny_city.EAST)
    citizen = factories.UserFactory.create()
    boss = factories.UserFactory.create(is_superuser=True, is_staff=True)

    assert list(reports_visible_to(tiny_city.west_staff)) == [west]
    assert list(reports_visible_to(tiny_city.east_staff)) == [east]
    assert set(reports_visible_to(boss)) == {west, east}
    assert not reports_visible_to(citizen).exists()
    assert list(permissions.staff_authorities(tiny_city.west_staff)) == [tiny_city.west]


def test_roles_decide_what_staff_may_do(tiny_city):
    viewer = factories.staff(tiny_city.west, role=StaffRole.VIEWER)
    admin = factories.staff(tiny_city.west, role=StaffRole.ADMINISTRATOR)
    west = tiny_city.west.pk

    assert permissions.membership_role(viewer, west) == "viewer"
    assert permissions.membership_role(viewer, tiny_city.east.pk) is None
    assert permissions.staff_may(viewer, west, "view")
    assert not permissions.staff_may(viewer, west, "transition")
    assert permissions.staff_may(tiny_city.west_staff, west, "transition")
    assert not permissions.staff_may(tiny_city.west_staff, west, "resend")
    assert permissions.staff_may(admin, west, "resend")
    assert not permissions.staff_may(admin, tiny_city.east.pk, "view")


def test_the_queue_filters_by_state_priority_text_photos_and_assignee(tiny_city):
    pothole = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Deep hole")
    lamp = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Broken kerb")
    factories.report(tiny_city.pothole, *tiny_city.EAST, title="Deep hole east")
    staff = tiny_city.west_staff
    services.report_transition(report_id=lamp.pk, to_state="verified", actor=staff)
    services.report_set_priority(report_id=pothole.pk, priority=Priority.URGENT, actor=staff)
    services.report_assign(report_id=lamp.pk, assignee=staff, actor=staff)

    assert list(_filter(staff, state="verified").qs) == [lamp]
    assert list(_filter(staff, priority="urgent").qs) == [pothole]
    assert list(_filter(staff, q="kerb").qs) == [lamp]
    assert list(_filter(staff, q=lamp.ref).qs) == [lamp]
    assert list(_filter(staff, assignee=staff.pk).qs) == [lamp]
    assert list(_filter(staff, has_photos="true").qs) == []
    assert _filter(staff, ordering="priority").qs.first() == pothole


def test_a_filter_never_widens_the_scope(tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.EAST)

    found = _filter(tiny_city.west_staff, authority=tiny_city.east.pk)

    assert not found.is_valid()
    assert list(found.qs) == []


def test_reports_past_their_categorys_target_are_overdue(tiny_city):
    tiny_city.pothole.sla_verify_hours, tiny_city.pothole.sla_fix_hours = 24, 240
    tiny_city.pothole.save()
    long_ago = timezone.now() - timedelta(hours=30)
    late = factories.report(tiny_city.pothole, *tiny_city.WEST, at=long_ago)
    verified = factories.report(tiny_city.pothole, *tiny_city.WEST, at=long_ago)
    services.report_transition(report_id=verified.pk, to_state="verified", actor=None)
    fresh = factories.report(tiny_city.pothole, *tiny_city.WEST)

    flagged = selectors.with_overdue(reports_visible_to(tiny_city.west_staff))

    assert {r.pk: r.is_overdue for r in flagged} == {
        late.pk: True,
        verified.pk: False,
        fresh.pk: False,
    }
    assert list(_filter(tiny_city.west_staff, overdue="true").qs) == [late]
    assert set(_filter(tiny_city.west_staff, overdue="false").qs) == {verified, fresh}


def test_state_counts_cover_every_state(tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST)

    counts = selectors.state_counts(Report.objects.all())

    assert counts[ReportState.OPEN] == 1
    assert counts[ReportState.FIXED] == 0


def test_internal_notes_hold_notes_written_alone_and_no_public_responses(tiny_city):
    from reports.staff import services as staff

    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    inspector = tiny_city.west_staff
    staff.report_note_add(report_id=report.pk, actor=inspector, public_note="Booked for Monday")
    staff.report_note_add(
        report_id=report.pk, actor=inspector, public_note="On site", internal_note="Crew 4"
    )
    staff.report_note_add(report_id=report.pk, actor=inspector, internal_note="Call back")

    notes = [entry.after["internal_note"] for entry in selectors.internal_notes(report)]

    # "Crew 4" came with a public response: its history row shows it, so it is not listed twice.
    assert notes == ["Call back"]
