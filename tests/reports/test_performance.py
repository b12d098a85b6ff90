"""An authority's public performance page, its API twin and CSV: targets, times to fix, the share
fixed within target and the citizens' fix rate, beside the city, with the minimum-reports rule."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from reports import services
from reports.models import Questionnaire, ReportState
from reports.performance import authority_performance
from tests import factories


def _filed(city: Any, point: tuple[float, float], *, days_ago: float, fixed_after: float | None):
    at = timezone.now() - timedelta(days=days_ago)
    report = factories.report(city.pothole, *point, at=at)
    if fixed_after is not None:
        services.report_transition(
            report_id=report.pk,
            to_state=ReportState.FIXED,
            actor=city.west_staff if point == city.WEST else city.east_staff,
            at=at + timedelta(days=fixed_after),
        )
    return report


def _answered(report: Any, answer: str) -> None:
    Questionnaire.objects.create(
        report=report,
        state_when_sent="open",
        answer=answer,
        answered_at=timezone.now() - timedelta(days=1),
    )


@pytest.fixture
def year(tiny_city, settings) -> Any:
    """West: four reports, three fixed (after 1, 2 and 5 days), one still open, and a private one
    that counts nowhere; east: one fixed after a day and one from two years ago."""
    settings.FIXPOINT_PERFORMANCE_MIN_REPORTS = 3
    tiny_city.pothole.sla_fix_hours = 48
    tiny_city.pothole.save()
    west = [_filed(tiny_city, tiny_city.WEST, days_ago=20, fixed_after=d) for d in (1, 2, 5)]
    _filed(tiny_city, tiny_city.WEST, days_ago=3, fixed_after=None)
    secret = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Private")
    secret.is_private = True
    secret.save()
    _answered(secret, "not_fixed")
    _answered(west[0], "fixed")
    _answered(west[1], "not_fixed")
    _filed(tiny_city, tiny_city.EAST, days_ago=10, fixed_after=1)
    _filed(tiny_city, tiny_city.EAST, days_ago=800, fixed_after=1)
    return tiny_city


def test_an_authoritys_figures_beside_the_citys_count_public_reports_of_the_year(year):
    found = authority_performance(year.west, now=timezone.now())

    [pothole] = found.categories
    assert (pothole.slug, pothole.sla_fix_hours) == ("pothole", 48)
    ours, city = pothole.authority, pothole.city
    assert (ours.received, ours.open, ours.fixed, ours.enough_reports) == (4, 1, 3, True)
    assert (ours.median_days_to_fix, ours.p90_days_to_fix) == (2.0, 4.4)
    assert ours.fixed_within_target == pytest.approx(2 / 3)
    assert (ours.questionnaires_answered, ours.citizens_fix_rate) == (2, 0.5)
    assert (city.received, city.fixed, city.median_days_to_fix) == (5, 4, 1.5)
    assert found.total.received == 4 and found.city_total.received == 5


def test_a_category_with_too_few_reports_shows_its_counts_only(year):
    found = authority_performance(year.east, now=timezone.now())

    ours = found.categories[0].authority
    assert (ours.received, ours.fixed, ours.enough_reports) == (1, 1, False)
    assert ours.median_days_to_fix is None and ours.fixed_within_target is None
    assert found.categories[0].city.median_days_to_fix == 1.5  # the city has enough


def test_the_page_the_api_and_the_csv_show_the_same_figures(client, year):
    page = client.get(reverse("reports:authority", args=["west"]))
    api = APIClient().get("/api/v1/authorities/west/performance/").json()
    table = list(csv.reader(io.StringIO(client.get("/authorities/west/performance.csv").text)))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-category="pothole"' in html and "4.4" in html and "67%" in html
    assert api["categories"][0]["p90_days_to_fix"] == 4.4
    assert api["categories"][0]["city"]["received"] == 5 and api["minimum_reports"] == 3
    header, pothole, total = table
    row = dict(zip(header, pothole, strict=True))
    assert (row["category"], row["received"], row["median_days_to_fix"]) == ("pothole", "4", "2.0")
    assert row["citizens_fix_rate"] == "0.5" and row["city_received"] == "5"
    assert total[1] == "all"


def test_an_unknown_or_inactive_authority_has_no_page(client, tiny_city):
    tiny_city.east.is_active = False
    tiny_city.east.save()

    assert client.get("/authorities/nowhere/").status_code == 404
    assert client.get("/authorities/east/").status_code == 404
    assert APIClient().get("/api/v1/authorities/nowhere/performance/").status_code == 404


def test_the_list_of_authorities_links_each_to_its_page_children_under_parents(client, tiny_city):
    tiny_city.east.is_active = False
    tiny_city.east.save()

    html = client.get(reverse("reports:authorities")).content.decode()

    assert html.index("Tiny City") < html.index("West")
    assert 'class="depth-1"><a href="/authorities/west/"' in html
    assert "/authorities/east/" not in html
    page = client.get("/authorities/west/").content.decode()
    assert 'href="/authorities/tiny-city/"' in page  # its parent


def test_a_site_message_about_the_city_shows_on_its_districts_page(
    client, tiny_city, django_capture_on_commit_callbacks
):
    from reports import site_messages
    from reports.models import SiteMessage

    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        site_messages.site_message_save(
            message=SiteMessage(
                text="City-wide strike on Monday",
                authority=tiny_city.city,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
            ),
            actor=None,
        )

    assert "City-wide strike" in client.get("/authorities/west/").content.decode()
    assert "City-wide strike" not in client.get(reverse("reports:authorities")).content.decode()
