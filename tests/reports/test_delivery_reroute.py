"""Re-routing: a report re-categorised or moved goes to the authority now responsible, with a
note in its history and a Delivery to the new authority (reports.delivery.report_reroute)."""

from __future__ import annotations

import pytest

from authorities import services as authority_services
from authorities.exceptions import NoAuthorityHere
from reports import delivery
from reports.exceptions import NotAllowed
from reports.models import Delivery, DeliveryStatus, Report, ReportState
from reports.services import report_transition
from tests import factories


@pytest.fixture
def sent_report(tiny_city, django_capture_on_commit_callbacks) -> Report:
    with django_capture_on_commit_callbacks(execute=True):
        return factories.report(tiny_city.pothole, *tiny_city.WEST)


def test_a_report_moved_into_another_district_is_delivered_there_with_a_note(
    tiny_city, sent_report, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        moved = delivery.report_reroute(
            report_id=sent_report.pk, latitude=10.05, longitude=1.15, actor=tiny_city.west_staff
        )

    assert (moved.authority, moved.longitude, moved.state) == (tiny_city.east, 1.15, "open")
    change = moved.history.order_by("-created_at", "-id").first()
    assert (change.from_state, change.to_state, change.actor) == (
        "open",
        "open",
        tiny_city.west_staff,
    )
    assert change.public_note == "Passed from West to East, which is responsible here."
    old, new = Delivery.objects.filter(report=moved).order_by("pk")
    assert (old.authority, old.status) == (tiny_city.west, DeliveryStatus.SENT)
    assert (new.authority, new.status) == (tiny_city.east, DeliveryStatus.SENT)
    assert [m.to for m in mailoutbox if m.extra_headers.get("X-Fixpoint-Delivery")] == [
        ["east@council.example.org"]
    ]


def test_a_report_re_categorised_goes_to_the_authority_that_handles_the_new_category(
    tiny_city, sent_report, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        moved = delivery.report_reroute(
            report_id=sent_report.pk, category=tiny_city.bins, actor=None
        )

    assert (moved.category, moved.authority) == (tiny_city.bins, tiny_city.city)
    change = moved.history.order_by("-created_at", "-id").first()
    assert change.actor_kind == "system"
    assert change.public_note == (
        "Re-categorised from Pothole to Overflowing bin. "
        "Passed from West to Tiny City, which is responsible here."
    )
    assert Delivery.objects.get(report=moved, authority=tiny_city.city).status == "sent"


def test_a_change_that_keeps_the_authority_is_noted_and_not_delivered_again(tiny_city, sent_report):
    cracks = factories.CategoryFactory.create(name="Cracks", slug="cracks")
    authority_services.authority_category_set(authority=tiny_city.west, category=cracks)

    moved = delivery.report_reroute(
        report_id=sent_report.pk, category=cracks, actor=tiny_city.west_staff
    )
    again = delivery.report_reroute(
        report_id=sent_report.pk, category=cracks, actor=tiny_city.west_staff
    )

    assert moved.authority == again.authority == tiny_city.west
    assert Delivery.objects.filter(report=sent_report).count() == 1
    notes = [c.public_note for c in moved.history.all() if c.from_state == c.to_state]
    assert notes == ["Re-categorised from Pothole to Cracks."]


def test_only_staff_of_the_reports_authority_may_re_route_an_open_report(tiny_city, sent_report):
    with pytest.raises(NotAllowed):
        delivery.report_reroute(
            report_id=sent_report.pk, longitude=1.15, actor=tiny_city.east_staff
        )
    report_transition(
        report_id=sent_report.pk, to_state=ReportState.CLOSED, actor=tiny_city.west_staff
    )
    with pytest.raises(NotAllowed):
        delivery.report_reroute(report_id=sent_report.pk, longitude=1.15, actor=None)

    assert Report.objects.get(pk=sent_report.pk).authority == tiny_city.west


def test_a_point_no_authority_covers_is_refused_and_nothing_changes(tiny_city, sent_report):
    with pytest.raises(NoAuthorityHere):
        delivery.report_reroute(report_id=sent_report.pk, latitude=50.0, actor=None)

    unchanged = Report.objects.get(pk=sent_report.pk)
    assert (unchanged.latitude, unchanged.authority) == (10.05, tiny_city.west)
    assert Delivery.objects.filter(report=sent_report).count() == 1


def test_a_report_handed_to_another_authority_arrives_unassigned_and_the_history_says_so(
    tiny_city, sent_report
):
    from reports.models import AuditEntry
    from reports.services import report_assign

    report_assign(
        report_id=sent_report.pk, assignee=tiny_city.west_staff, actor=tiny_city.west_staff
    )

    moved = delivery.report_reroute(
        report_id=sent_report.pk, latitude=10.05, longitude=1.15, actor=tiny_city.west_staff
    )

    assert Report.objects.get(pk=sent_report.pk).assignee is None
    assert (moved.authority, moved.assignee) == (tiny_city.east, None)
    change = moved.history.order_by("-created_at", "-id").first()
    assert change.public_note == "Passed from West to East, which is responsible here."
    assert tiny_city.west_staff.email not in change.public_note  # staff names stay internal
    assert change.internal_note == (
        f"No longer assigned to {tiny_city.west_staff.email}: East decides who works on it."
    )
    audit = AuditEntry.objects.filter(action="assignment").order_by("-id").first()
    assert (audit.before, audit.after) == (
        {"assignee": tiny_city.west_staff.email},
        {"assignee": None},
    )
    assert (audit.actor, audit.authority_id) == (tiny_city.west_staff, tiny_city.west.pk)


def test_a_change_that_keeps_the_authority_keeps_the_assignee(tiny_city, sent_report):
    from reports.services import report_assign

    report_assign(
        report_id=sent_report.pk, assignee=tiny_city.west_staff, actor=tiny_city.west_staff
    )

    moved = delivery.report_reroute(
        report_id=sent_report.pk, latitude=10.06, longitude=1.06, actor=tiny_city.west_staff
    )

    assert (moved.authority, moved.assignee) == (tiny_city.west, tiny_city.west_staff)
    assert moved.history.order_by("-created_at", "-id").first().internal_note == ""
