from __future__ import annotations

from django.urls import reverse

from reports import services
from reports.models import ReportState
from tests import factories


def test_home_lists_public_reports_and_hides_unconfirmed_ones(
    tiny_city, client, django_assert_max_num_queries
):
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="Public hole")
    factories.report(
        tiny_city.pothole,
        *tiny_city.WEST,
        title="Secret hole",
        reporter_name="Ana",
        reporter_email="ana@example.org",
    )
    for _ in range(5):
        factories.report(tiny_city.bins, *tiny_city.EAST, title="Full bin")

    with django_assert_max_num_queries(6):
        response = client.get(reverse("reports:home"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Public hole" in html and "Full bin" in html
    assert "Secret hole" not in html


def test_report_page_shows_public_timeline_but_not_internal_notes(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="<b>Hole</b>")
    services.report_transition(
        report_id=report.pk,
        to_state=ReportState.VERIFIED,
        actor=tiny_city.west_staff,
        public_note="On our list",
        internal_note="Crew B, Tuesday",
    )

    response = client.get(report.get_absolute_url())

    html = response.content.decode()
    assert "On our list" in html
    assert "Crew B" not in html
    assert "&lt;b&gt;Hole&lt;/b&gt;" in html  # escaped, never rendered as markup


def test_unconfirmed_and_spam_reports_are_not_found(tiny_city, client):
    hidden = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ana@example.org"
    )
    spam = factories.report(tiny_city.pothole, *tiny_city.WEST)
    services.report_transition(
        report_id=spam.pk, to_state=ReportState.SPAM, actor=tiny_city.west_staff
    )

    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get(spam.get_absolute_url()).status_code == 404
    assert client.get("/reports/NOSUCH1/").status_code == 404


def test_health_check_answers_ok(db, client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_the_report_page_costs_the_same_queries_however_many_updates(tiny_city, client, settings):
    # Routing's version is checked at most once a second, so a slow run could count that check in
    # one page and not the other: checked on every request here, the count is what a page costs.
    settings.FIXPOINT_ROUTING_FRESHNESS_SECONDS = 0
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    citizen = factories.UserFactory.create()

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(report.get_absolute_url()).status_code == 200
        return len(queries)

    services.report_update_add(report_id=report.pk, author=citizen, text="First")
    count()  # the first page fills the process's caches (the site messages)
    few = count()
    for n in range(5):
        services.report_update_add(report_id=report.pk, author=citizen, text=f"Update {n}")
    assert count() == few
