"""The staff queue and work page: what staff see and do through the pages."""

from __future__ import annotations

from django.urls import reverse

from authorities.models import StaffRole
from reports import services
from reports.models import AuditEntry, Report, ReportState, ResponseTemplate
from tests import factories

QUEUE_QUERIES = 16  # session, user, scope, routing version, SLA targets, filter choices (your
# neighbourhoods among them), counts, pins, page, bulk form
WORK_QUERIES = 19  # the report with its history, photos, updates, deliveries and the updates
# sent on to the authority; the category's questions (answers shown by their labels); the one
# form's choices


def test_the_queue_lists_the_authoritys_reports_with_counts_and_map_pins(client, tiny_city):
    west = factories.report(tiny_city.pothole, *tiny_city.WEST, title="West hole")
    factories.report(tiny_city.pothole, *tiny_city.EAST, title="East hole")
    client.force_login(tiny_city.west_staff)

    response = client.get(reverse("staff:queue"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "West hole" in html and "East hole" not in html
    assert 'data-state-count="open">1<' in html
    assert response.context["pins"] == [
        {
            "id": west.pk,
            "ref": west.ref,
            "title": "West hole",
            "state": "open",
            "lat": west.latitude,
            "lon": west.longitude,
        }
    ]


def test_the_queue_answers_bad_filter_values_with_the_reason_and_no_reports(client, tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    response = client.get(reverse("staff:queue"), {"state": "nonsense", "created_after": "x"})

    assert response.status_code == 200
    assert "created_after" in response.content.decode()


def test_the_public_page_links_staff_of_the_authority_to_their_work_page_only(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    work = reverse("staff:report", args=[report.pk])

    for user, linked in ((tiny_city.west_staff, True), (tiny_city.east_staff, False)):
        client.force_login(user)
        assert (work in client.get(report.get_absolute_url()).content.decode()) is linked
    client.force_login(factories.UserFactory.create())
    assert work not in client.get(report.get_absolute_url()).content.decode()


def test_citizens_are_refused_and_visitors_sent_to_log_in(client, tiny_city):
    assert client.get(reverse("staff:queue")).status_code == 302
    client.force_login(factories.UserFactory.create())
    assert client.get(reverse("staff:queue")).status_code == 403


def test_an_inspector_verifies_with_a_template_response_shown_on_the_public_page(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    template = ResponseTemplate.objects.create(
        title="Seen", text="An inspector has seen it.", category=tiny_city.pothole, state="verified"
    )
    client.force_login(tiny_city.west_staff)
    url = reverse("staff:report", args=[report.pk])

    page = client.get(url)
    response = client.post(
        url, {"action": "transition", "to_state": "verified", "template": template.pk}
    )

    assert "An inspector has seen it." in page.content.decode()
    assert response.status_code == 302
    assert Report.objects.get().state == ReportState.VERIFIED
    public = client.get(report.get_absolute_url()).content.decode()
    assert "An inspector has seen it." in public


def test_an_internal_note_alone_stays_off_the_public_history(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)
    url = reverse("staff:report", args=[report.pk])

    client.post(url, {"action": "transition", "to_state": "", "internal_note": "Crew booked"})

    assert report.history.count() == 1  # only the filing
    assert AuditEntry.objects.get(action="edit").after == {"internal_note": "Crew booked"}
    assert "Crew booked" in client.get(url).content.decode()
    assert "Crew booked" not in client.get(report.get_absolute_url()).content.decode()


def test_a_public_response_without_a_change_of_state_joins_the_public_history(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    client.post(
        reverse("staff:report", args=[report.pk]),
        {"action": "transition", "to_state": "", "public_note": "Booked for Monday"},
    )

    change = report.history.last()
    assert (change.from_state, change.to_state) == ("open", "open")
    assert "Booked for Monday" in client.get(report.get_absolute_url()).content.decode()
    assert AuditEntry.objects.filter(action="edit").count() == 1


def test_an_illegal_move_is_shown_as_an_error_and_changes_nothing(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    response = client.post(
        reverse("staff:report", args=[report.pk]),
        {"action": "transition", "to_state": "unconfirmed"},
    )

    assert response.status_code == 400
    assert Report.objects.get().state == ReportState.OPEN


def test_a_viewer_reads_the_work_page_but_cannot_act(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    viewer = factories.staff(tiny_city.west, role=StaffRole.VIEWER)
    client.force_login(viewer)
    url = reverse("staff:report", args=[report.pk])

    page = client.get(url)
    response = client.post(url, {"action": "transition", "to_state": "verified"})

    assert page.status_code == 200 and "does not allow changes" in page.content.decode()
    assert response.status_code == 403
    assert Report.objects.get().state == ReportState.OPEN


def test_bulk_verify_makes_one_audited_transition_per_report(client, tiny_city):
    reports = [factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(3)]
    other = factories.report(tiny_city.pothole, *tiny_city.EAST)
    client.force_login(tiny_city.west_staff)

    client.post(
        reverse("staff:bulk"),
        {
            "reports": [r.pk for r in reports] + [other.pk],
            "action": "verify",
            "public_note": "On our list.",
        },
    )

    assert set(Report.objects.filter(state="verified")) == set(reports)
    assert Report.objects.get(pk=other.pk).state == ReportState.OPEN
    assert AuditEntry.objects.filter(action="transition").count() == 3
    for report in reports:
        assert report.history.last().public_note == "On our list."


def _queries_for(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_queue_and_the_work_page_cost_the_same_queries_for_few_or_many_reports(
    client, tiny_city, django_assert_num_queries, settings
):
    # The queue's neighbourhoods come from the routing index, whose version is checked at most
    # once a second: checked on every request here, so the count is the most a page costs.
    settings.FIXPOINT_ROUTING_FRESHNESS_SECONDS = 0
    client.force_login(tiny_city.west_staff)
    first = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.get(reverse("staff:queue"))  # the first page fills the site messages' cache
    few = _queries_for(client, reverse("staff:queue"))
    one = _queries_for(client, reverse("staff:report", args=[first.pk]))
    for _ in range(30):
        factories.report(tiny_city.pothole, *tiny_city.WEST)
    staff = tiny_city.west_staff
    services.report_transition(report_id=first.pk, to_state="verified", actor=staff)
    services.report_update_add(report_id=first.pk, author=None, text="Me too", author_name="A")

    with django_assert_num_queries(few):
        client.get(reverse("staff:queue"))
    with django_assert_num_queries(one):
        client.get(reverse("staff:report", args=[first.pk]))
    assert (few, one) == (QUEUE_QUERIES, WORK_QUERIES)


def test_the_reporters_contact_shows_to_the_authoritys_staff_unless_switched_off(
    client, tiny_city, settings
):
    reporter = factories.UserFactory.create(email="reporter@example.org")
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)
    client.force_login(tiny_city.west_staff)
    url = reverse("staff:report", args=[report.pk])

    shown = client.get(url).content.decode()
    settings.FIXPOINT_DELIVERY_REPORTER_CONTACT = False
    hidden = client.get(url).content.decode()

    assert "reporter@example.org" in shown
    assert "reporter@example.org" not in hidden


def test_administrators_find_the_audit_log_from_the_queue_and_inspectors_do_not(client, tiny_city):
    admin = factories.staff(tiny_city.west, role=StaffRole.ADMINISTRATOR)
    audit = reverse("admin:reports_auditentry_changelist")

    client.force_login(admin)
    assert audit in client.get(reverse("staff:queue")).content.decode()
    assert client.get(audit).status_code == 200
    client.force_login(tiny_city.west_staff)
    assert audit not in client.get(reverse("staff:queue")).content.decode()
    assert client.get(audit).status_code == 403


def test_the_state_counts_keep_the_other_filters(client, tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="Deep kerb")
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="Loose tile")
    client.force_login(tiny_city.west_staff)

    html = client.get(reverse("staff:queue"), {"q": "kerb", "state": "fixed"}).content.decode()

    assert 'href="?q=kerb&amp;state=open"' in html
    assert 'data-state-count="open">1<' in html


def test_an_internal_note_shows_once_and_a_public_response_is_no_internal_note(client, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)
    url = reverse("staff:report", args=[report.pk])

    client.post(url, {"action": "transition", "to_state": "", "public_note": "Booked"})
    only_public = client.get(url).content.decode()
    client.post(
        url, {"action": "transition", "public_note": "On site", "internal_note": "Crew four"}
    )
    client.post(url, {"action": "transition", "internal_note": "Call the reporter back"})
    html = client.get(url).content.decode()

    assert "Internal notes" not in only_public
    assert html.count("Crew four") == 1  # in its history row only
    assert html.count("Call the reporter back") == 1  # under "Internal notes"
    assert [n.after["internal_note"] for n in client.get(url).context["internal_notes"]] == [
        "Call the reporter back"
    ]


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_bulk_action_without_reports_says_to_tick_one(client, tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    response = client.post(reverse("staff:bulk"), {"action": "verify"}, follow=True)

    assert _messages(response) == ["Nothing was changed: Reports: Tick at least one report."]


def test_a_bulk_move_offers_only_states_staff_can_reach_and_no_duplicate(client, tiny_city):
    from accounts.models import User
    from reports.staff.forms import BulkForm

    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)
    form = BulkForm(report_ids=[report.pk], assignees=User.objects.none())

    offered = [value for value, _ in form.fields["to_state"].choices if value]
    response = client.post(
        reverse("staff:bulk"),
        {"reports": [report.pk], "action": "transition", "to_state": "duplicate"},
        follow=True,
    )

    assert offered == [
        "open", "verified", "in_progress", "fixed", "closed", "not_responsible", "spam"
    ]  # fmt: skip
    assert _messages(response)[0].startswith("Nothing was changed: New state: Select a valid")
    assert Report.objects.get().state == ReportState.OPEN


def test_every_work_page_action_needs_the_permission_of_its_name(client, tiny_city):
    from authorities import permissions
    from reports.staff.views import HANDLERS

    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    refused = client.post(reverse("staff:report", args=[report.pk]), {"action": "resend"})
    unknown = client.post(reverse("staff:report", args=[report.pk]), {"action": "delete"})

    assert set(HANDLERS) <= set(permissions.PERMISSIONS)
    assert (refused.status_code, unknown.status_code) == (403, 403)
