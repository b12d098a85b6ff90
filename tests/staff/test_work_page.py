"""The work page is one form: state and response, then assignment and priority, then moderation,
saved together or not at all, and an error loses nothing that was typed."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from authorities.models import CategoryQuestion, StaffRole
from reports import services
from reports.models import AuditEntry, Priority, Report, ReportState
from tests import factories


def _form(report: Report, **changes: Any) -> dict[str, Any]:
    """What the browser sends for the page as shown, with these fields changed."""
    report.refresh_from_db()
    sent: dict[str, Any] = {
        "action": "save",
        "to_state": "",
        "original": "",
        "template": "",
        "public_note": "",
        "internal_note": "",
        "assignee": report.assignee_id or "",
        "priority": report.priority,
        "category": report.category_id,
        "privacy-private": "1" if report.is_private else "0",
        "privacy-reason": "",
        "moderate-title": report.title,
        "moderate-description": report.description.replace("\n", "\r\n"),
        "moderate-reason": "",
    }
    return sent | {key.replace("__", "-"): value for key, value in changes.items()}


def _save(client, report: Report, **changes: Any):
    return client.post(reverse("staff:report", args=[report.pk]), _form(report, **changes))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_one_save_changes_state_response_assignee_and_priority_together(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    staff = tiny_city.west_staff
    client.force_login(staff)

    response = _save(
        client,
        report,
        to_state="in_progress",
        public_note="A crew is on its way.",
        assignee=staff.pk,
        priority=Priority.URGENT,
    )

    report.refresh_from_db()
    assert response.status_code == 302
    assert (report.state, report.assignee, report.priority) == ("in_progress", staff, "urgent")
    assert report.history.last().public_note == "A crew is on its way."
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"transition", "assignment"}
    assert report.title == "Pothole"  # moderation untouched: nothing there was changed


def test_a_failing_change_changes_nothing_and_keeps_everything_typed(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    response = _save(
        client,
        report,
        to_state="duplicate",
        original="NOSUCH1",
        public_note="Same as the other one.",
        priority=Priority.HIGH,
        moderate__title="Pothole by number 12",
    )

    html = response.content.decode()
    report.refresh_from_db()
    assert response.status_code == 400
    assert (report.state, report.priority, report.title) == ("open", "normal", "Pothole")
    assert _messages(response)[0].startswith("Nothing was changed:")
    assert "Same as the other one.</textarea>" in html
    assert 'value="Pothole by number 12"' in html
    assert '<option value="high" selected>' in html


def test_invalid_fields_are_listed_at_the_top_by_label_and_shown_beside_them(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    response = _save(
        client,
        report,
        to_state="duplicate",
        public_note="Kept",
        moderate__title="",
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="work-errors"' in html
    assert 'href="#id_original">Original report (reference): Give the reference' in html
    assert 'href="#moderate_moderate-title">Title: This field is required.' in html
    assert 'id="moderate_moderate-title_error"' in html or "errorlist" in html
    assert "Kept</textarea>" in html
    assert Report.objects.get().state == ReportState.OPEN


def test_marking_a_duplicate_and_spam_are_states_of_the_same_form(client, tiny_city):
    original = factories.report(tiny_city.pothole, *tiny_city.WEST, title="The first")
    repeat = factories.report(tiny_city.pothole, *tiny_city.WEST)
    junk = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    _save(client, repeat, to_state="duplicate", original=original.ref.lower())
    _save(client, junk, to_state="spam", internal_note="Advertising")

    repeat.refresh_from_db()
    assert (repeat.state, repeat.duplicate_of) == ("duplicate", original)
    assert Report.objects.get(pk=junk.pk).state == ReportState.SPAM


def test_moderation_from_the_one_form_keeps_the_original_in_the_audit_log(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, description="Call 600 123 456")
    client.force_login(tiny_city.west_staff)

    _save(client, report, moderate__description="Call [removed]", moderate__reason="A phone")

    report.refresh_from_db()
    entry = AuditEntry.objects.get(action="moderation")
    assert report.description == "Call [removed]"
    assert entry.before == {"description": "Call 600 123 456"}


def test_saving_without_a_change_says_so_and_writes_nothing(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    response = client.post(reverse("staff:report", args=[report.pk]), _form(report), follow=True)

    assert _messages(response) == ["Nothing to save: no field was changed."]
    assert not AuditEntry.objects.exclude(action="login").exists()


def test_a_viewer_cannot_save_the_form(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(factories.staff(tiny_city.west, role=StaffRole.VIEWER))

    response = _save(client, report, priority=Priority.URGENT)

    assert response.status_code == 403
    assert Report.objects.get().priority == Priority.NORMAL


def test_the_history_names_states_in_words_and_answers_show_their_question(client, tiny_city):
    CategoryQuestion.objects.create(
        category=tiny_city.pothole, code="lamp_number", label="Number on the lamp post"
    )
    CategoryQuestion.objects.create(
        category=tiny_city.pothole,
        code="size",
        label="How big is it?",
        datatype="singlevaluelist",
        values=[{"key": "s", "name": "Small"}, {"key": "l", "name": "Larger than a wheel"}],
    )
    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, extra={"lamp_number": "A-17", "size": "l"}
    )
    services.report_transition(
        report_id=report.pk, to_state="in_progress", actor=tiny_city.west_staff
    )
    client.force_login(tiny_city.west_staff)

    html = client.get(reverse("staff:report", args=[report.pk])).content.decode()

    assert "Open → In progress" in html
    assert "<dt>Number on the lamp post</dt><dd>A-17</dd>" in html
    assert "<dt>How big is it?</dt><dd>Larger than a wheel</dd>" in html
    assert "lamp_number" not in html
    assert html.count('id="work-form"') == 1 and html.count("<form") <= 3  # log-out, form


def test_an_answer_from_a_list_is_named_in_the_staff_members_language(client, tiny_city):
    CategoryQuestion.objects.create(
        category=tiny_city.pothole,
        code="size",
        label="How big is it?",
        label_ca="Com és de gran?",
        datatype="singlevaluelist",
        values=[{"key": "l", "name": "Larger than a wheel", "name_ca": "Més gran que una roda"}],
    )
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, extra={"size": "l"})
    client.force_login(tiny_city.west_staff)

    page = client.get(reverse("staff:report", args=[report.pk]), HTTP_ACCEPT_LANGUAGE="ca")

    assert "<dt>Com és de gran?</dt><dd>Més gran que una roda</dd>" in page.content.decode()


def test_citizens_updates_show_when_who_and_what_they_said(client, tiny_city, settings):
    from accounts.models import User

    settings.FIXPOINT_DELIVERY_REPORTER_CONTACT = False
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    named = User.objects.create_user("nuria@example.org", "x", display_name="Núria")
    quiet = User.objects.create_user("quiet@example.org", "x", display_name="Quiet")
    services.report_update_add(
        report_id=report.pk, author=named, text="Deeper after the rain.", show_name=True
    )
    services.report_update_add(report_id=report.pk, author=quiet, text="Still there.")
    client.force_login(tiny_city.west_staff)

    html = client.get(reverse("staff:report", args=[report.pk])).content.decode()
    listed = html.split("Citizens' updates", 1)[1].split("</ul>", 1)[0]

    first, second = listed.split("<li>")[1:]
    assert "Núria" in first and "Deeper after the rain." in first
    assert "a citizen" in second and "Quiet" not in second and "quiet@" not in second
    settings.FIXPOINT_DELIVERY_REPORTER_CONTACT = True
    html = client.get(reverse("staff:report", args=[report.pk])).content.decode()
    assert "quiet@example.org" in html.split("Citizens' updates", 1)[1]
