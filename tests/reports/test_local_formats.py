"""Dates, times and numbers people read follow the page's language (config/formats); what
machines read (ISO dates, coordinates, date inputs, CSV) stays the same in every language."""

from __future__ import annotations

from datetime import datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from reports.models import Report
from reports.staff.stats_views import duration
from tests import factories

MADRID = ZoneInfo("Europe/Madrid")
FILED = datetime(2026, 4, 6, 9, 5, tzinfo=MADRID)  # a month whose Catalan name elides "de"
LOCAL_FORMS = {
    "en": ("6 Apr 2026, 09:05", "6 Apr 2026"),
    "ca": ("6 d'abril de 2026 a les 9:05", "6 d'abril de 2026"),
    "es": ("6 de abril de 2026 a las 09:05", "6 de abril de 2026"),
}


@pytest.fixture
def filed(tiny_city) -> Report:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Sunken drain")
    Report.objects.filter(pk=report.pk).update(created_at=FILED)
    report.refresh_from_db()
    return report


@pytest.mark.parametrize("language", ["en", "ca", "es"])
def test_a_report_page_shows_its_date_in_the_pages_language_and_iso_for_machines(
    client, filed, language
):
    page = client.get(filed.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language)

    html = unescape(page.content.decode())
    when, _day = LOCAL_FORMS[language]
    assert f">{when}</time>" in html
    assert '<time datetime="2026-04-06T09:05:00+02:00">' in html  # ISO 8601, any language
    assert "Apr" not in html or language == "en"


@pytest.mark.parametrize("language", ["ca", "es"])
def test_the_home_list_and_the_staff_queue_write_dates_the_local_way(
    client, filed, tiny_city, language
):
    home = unescape(client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode())
    assert LOCAL_FORMS[language][1] in home

    client.force_login(tiny_city.west_staff)
    queue = client.get("/staff/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "06/04/2026" in queue  # day before month
    assert "Apr 2026" not in queue


@pytest.mark.parametrize("language", ["ca", "es"])
def test_the_map_list_names_the_day_locally_and_keeps_the_iso_date(client, filed, language):
    answer = client.get(
        "/map/list.json", {"bbox": "0.9,9.9,1.3,10.2"}, HTTP_ACCEPT_LANGUAGE=language
    ).json()

    (row,) = answer["reports"]
    assert row["created"] == "2026-04-06"
    assert row["created_label"] == LOCAL_FORMS[language][1]


def test_the_inactivity_warning_names_the_day_in_the_readers_language():
    when = datetime(2026, 8, 14, 12, 0, tzinfo=MADRID)
    context = {"when": when, "login": "https://x/login", "privacy": "https://x/privacy"}
    with translation.override("ca"):
        catalan = render_to_string("emails/account_inactive.txt", context)
    with translation.override("es"):
        spanish = render_to_string("emails/account_inactive.txt", context)

    assert "14 d'agost de 2026" in catalan
    assert "14 de agosto de 2026" in spanish


def test_statistics_times_use_the_decimal_separator_of_the_language():
    with translation.override("en"):
        assert str(duration(1.5 * 3600)) == "1.5 h"
        assert str(duration(1234.5 * 86400)) == "1,234.5 days"
    with translation.override("ca"):
        assert str(duration(1.5 * 3600)) == "1,5 h"
        assert str(duration(1234.5 * 86400)) == "1.234,5 dies"
    with translation.override("es"):
        assert str(duration(1.5 * 3600)) == "1,5 h"
        assert str(duration(1234.5 * 86400)) == "1\xa0234,5 días"


def test_statistics_counts_are_grouped_the_local_way():
    template = "{% load humanize %}{{ n|intcomma }}"
    from django.template import engines

    render = engines["django"].from_string(template).render
    with translation.override("ca"):
        assert render({"n": 12345}) == "12.345"
    with translation.override("es"):
        assert render({"n": 12345}) == "12\xa0345"


@pytest.mark.parametrize("language", ["ca", "es"])
def test_date_inputs_keep_the_iso_value_a_browser_understands(client, tiny_city, language):
    client.force_login(tiny_city.west_staff)
    stats = client.get(
        "/staff/stats/",
        {"date_from": "2026-04-01", "date_to": "2026-04-30"},
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    queue = client.get(
        "/staff/", {"created_after": "2026-04-01"}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()

    assert 'value="2026-04-01"' in stats and 'value="2026-04-30"' in stats
    assert 'value="2026-04-01"' in queue


def test_a_catalan_council_reads_coordinates_with_a_point(tiny_city):
    facts = {"ref": "X", "latitude": 41.40361, "longitude": 2.17443, "map_url": "https://x/"}
    with translation.override("ca"):
        text = render_to_string("emails/delivery.txt", {"r": facts, "site_name": "Fixpoint"})
        html = render_to_string("emails/delivery.html", {"r": facts, "site_name": "Fixpoint"})

    assert "41.40361, 2.17443" in text
    assert "41.40361, 2.17443" in html
