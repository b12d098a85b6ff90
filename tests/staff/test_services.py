"""Staff services: duplicates merge followers, spam hides, moderation keeps the original,
re-categorising re-routes, resends need an administrator, notes need no state change."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from authorities.models import StaffRole
from reports import services
from reports.exceptions import InvalidTransition, NotAllowed
from reports.models import (
    AuditEntry,
    Delivery,
    DeliveryStatus,
    Report,
    ReportPhoto,
    ReportState,
    Subscription,
    SubscriptionKind,
    Support,
)
from reports.staff import services as staff
from tests import factories


def _subscribe(report: Report, email: str) -> Subscription:
    return Subscription.objects.create(
        email=email, kind=SubscriptionKind.REPORT, report=report, is_confirmed=True
    )


def test_a_duplicate_hands_its_supporters_subscribers_and_reporter_to_the_original(tiny_city):
    original = factories.report(tiny_city.pothole, *tiny_city.WEST)
    copy = factories.report(tiny_city.pothole, *tiny_city.WEST)
    services.support_add(report_id=copy.pk, email="both@example.org")
    services.support_add(report_id=original.pk, email="both@example.org")
    services.support_add(report_id=copy.pk, email="new@example.org")
    _subscribe(copy, "follower@example.org")
    _subscribe(copy, "already@example.org")
    _subscribe(original, "already@example.org")

    staff.report_mark_duplicate(
        report_id=copy.pk, original_id=original.pk, actor=tiny_city.west_staff
    )

    copy.refresh_from_db()
    assert (copy.state, copy.duplicate_of) == (ReportState.DUPLICATE, original)
    supporters = Support.objects.filter(report=original)
    assert sorted(s.email for s in supporters if s.email) == ["both@example.org", "new@example.org"]
    assert supporters.filter(user=copy.reporter).exists()
    followers = list(Subscription.objects.filter(report=original).values_list("email", flat=True))
    assert {"already@example.org", "follower@example.org"} <= set(followers)
    assert len(followers) == len(set(followers))  # nobody follows the original twice
    assert AuditEntry.objects.get(action="duplicate").after["duplicate_of"] == original.pk


def test_a_report_cannot_duplicate_itself_and_nothing_is_merged(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    with pytest.raises(InvalidTransition):
        staff.report_mark_duplicate(
            report_id=report.pk, original_id=report.pk, actor=tiny_city.west_staff
        )

    assert Report.objects.get().state == ReportState.OPEN
    assert not Support.objects.exists()


def test_spam_hides_the_report_and_is_audited_as_spam(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    staff.report_mark_spam(report_id=report.pk, actor=tiny_city.west_staff, internal_note="ad")

    assert not Report.objects.public().exists()
    assert AuditEntry.objects.get().action == "spam"


def _photo(report: Report) -> ReportPhoto:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "JPEG")
    photo = ReportPhoto(report=report)
    photo.image.save("x.jpg", ContentFile(buffer.getvalue()))
    return photo


def test_moderation_redacts_and_hides_keeping_the_original_in_the_audit_log(tiny_city):
    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, description="Call 600 123 456 now"
    )
    photo = _photo(report)

    staff.report_moderate(
        report_id=report.pk,
        actor=tiny_city.west_staff,
        description="Call [redacted] now",
        hide_photo_ids=[photo.pk],
        reason="phone number",
    )

    report.refresh_from_db()
    assert report.description == "Call [redacted] now"
    assert ReportPhoto.objects.get().is_hidden
    entry = AuditEntry.objects.get(action="moderation")
    assert entry.before == {"description": "Call 600 123 456 now"}
    assert entry.after["hidden_photos"] == [photo.pk]


def test_moderation_with_nothing_to_do_is_refused(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    with pytest.raises(Exception, match="Nothing to moderate"):
        staff.report_moderate(report_id=report.pk, actor=tiny_city.west_staff)

    assert not AuditEntry.objects.exists()


def test_viewers_may_not_act_and_inspectors_may_not_resend(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    viewer = factories.staff(tiny_city.west, role=StaffRole.VIEWER)
    admin = factories.staff(tiny_city.west, role=StaffRole.ADMINISTRATOR)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)

    for action in (
        lambda: services.report_transition(report_id=report.pk, to_state="verified", actor=viewer),
        lambda: staff.report_mark_spam(report_id=report.pk, actor=viewer),
        lambda: staff.report_note_add(report_id=report.pk, actor=viewer, internal_note="x"),
        lambda: staff.delivery_resend_by_staff(delivery_id=delivery.pk, actor=tiny_city.west_staff),
    ):
        with pytest.raises(NotAllowed):
            action()

    staff.delivery_resend_by_staff(delivery_id=delivery.pk, actor=admin)
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    assert AuditEntry.objects.get().action == "delivery"


def test_re_categorising_re_routes_and_is_audited(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    staff.report_recategorise(
        report_id=report.pk, category=tiny_city.bins, actor=tiny_city.west_staff
    )

    report.refresh_from_db()
    assert (report.category, report.authority) == (tiny_city.bins, tiny_city.city)
    entry = AuditEntry.objects.get()
    assert entry.action == "reroute" and "Re-categorised" in entry.after["note"]


def test_bulk_changes_twenty_reports_and_reports_the_ones_that_cannot_move(tiny_city):
    reports = [factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(20)]
    services.report_transition(report_id=reports[0].pk, to_state="fixed", actor=None)
    hidden = factories.report(tiny_city.pothole, *tiny_city.EAST)

    result = staff.reports_bulk(
        report_ids=[r.pk for r in reports] + [hidden.pk],
        action="transition",
        to_state="in_progress",
        public_note="Crew on the way",
        actor=tiny_city.west_staff,
    )

    assert len(result.done) == 19
    assert list(result.failed) == [reports[0].ref]  # fixed -> in progress is not a move
    assert Report.objects.filter(state="in_progress").count() == 19
    assert Report.objects.get(pk=hidden.pk).state == ReportState.OPEN
    assert AuditEntry.objects.filter(action="transition").count() == 19


def test_bulk_assign_and_spam(tiny_city):
    reports = [factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(2)]
    ids = [r.pk for r in reports]

    staff.reports_bulk(
        report_ids=ids, action="assign", assignee=tiny_city.west_staff, actor=tiny_city.west_staff
    )
    staff.reports_bulk(report_ids=ids, action="spam", actor=tiny_city.west_staff)

    assert set(Report.objects.values_list("assignee", "state")) == {
        (tiny_city.west_staff.pk, ReportState.SPAM)
    }


def test_a_duplicate_made_through_the_api_merges_followers_too(client, tiny_city):
    original = factories.report(tiny_city.pothole, *tiny_city.WEST)
    copy = factories.report(tiny_city.pothole, *tiny_city.WEST)
    services.support_add(report_id=copy.pk, email="fan@example.org")
    client.force_login(tiny_city.west_staff)

    response = client.post(
        f"/api/v1/reports/{copy.pk}/transition/",
        {"state": "duplicate", "duplicate_of": original.ref},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert Support.objects.filter(report=original, email="fan@example.org").exists()
    assert Support.objects.filter(report=original, user=copy.reporter).exists()
