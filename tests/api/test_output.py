"""output.ReportWriter writes what the documented serializers would, field for field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.utils import timezone, translation
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from reports import services
from reports.api import serializers as s
from reports.api.output import ReportWriter
from reports.api.views import _with_details
from reports.models import Report, ReportState
from tests import factories


@pytest.fixture
def request_() -> Request:
    return Request(APIRequestFactory().get("/api/v1/reports/", HTTP_HOST="testserver"))


def _busy_report(tiny_city) -> Report:
    """Anonymous filing confirmed later, a shown and a hidden name, supporters, a duplicate."""
    original = factories.report(tiny_city.pothole, *tiny_city.WEST, title="First")
    report = factories.report(
        tiny_city.pothole,
        *tiny_city.WEST,
        reporter=None,
        reporter_name="Ana",
        reporter_email="ana@example.org",
        show_name=True,
        extra={},
    )
    services.report_confirm(report_id=report.pk)
    services.report_update_add(
        report_id=report.pk, author=None, text="Still there", author_name="Bo", show_name=True
    )
    services.report_update_add(report_id=report.pk, author=None, text="Deep", author_name="Cy")
    services.support_add(report_id=report.pk, user=factories.UserFactory.create())
    services.report_transition(
        report_id=report.pk,
        to_state=ReportState.DUPLICATE,
        actor=tiny_city.west_staff,
        public_note="Same hole",
        duplicate_of_id=original.pk,
    )
    return report


def test_a_report_in_a_list_is_written_as_its_serializer_says(tiny_city, request_):
    report = Report.objects.with_related().get(pk=_busy_report(tiny_city).pk)

    expected = s.ReportSerializer(report, context={"request": request_}).data

    assert ReportWriter(request_).report(report) == expected
    assert ReportWriter(request_).report(report)["url"].startswith("http://testserver/reports/")


def test_a_report_in_detail_is_written_as_its_serializer_says(tiny_city, request_):
    report = _with_details(Report.objects.with_related()).get(pk=_busy_report(tiny_city).pk)

    written = ReportWriter(request_).detail(report)

    assert written == s.ReportDetailSerializer(report, context={"request": request_}).data
    assert written["duplicate_of"] and len(written["updates"]) == 2 and written["supporters"] == 1


def test_times_are_written_in_the_current_zone_and_utc_as_z(request_):
    moment = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    field = s.ReportSerializer().fields["created_at"]

    with timezone.override("UTC"):
        in_utc = ReportWriter(request_).when(moment)
        assert in_utc == field.to_representation(moment) == "2026-01-02T03:04:05.000678Z"
    with timezone.override("Europe/Madrid"):
        assert ReportWriter(request_).when(moment) == field.to_representation(moment)


def test_the_answer_to_a_filing_is_the_report_as_read_back(tiny_city):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(factories.UserFactory.create(display_name="Dee"))
    new = {"title": "Hole", "description": "Deep", "category": "pothole", "show_name": True}

    filed = api.post("/api/v1/reports/", {**new, "latitude": 10.05, "longitude": 1.05}, "json")
    read = api.get(f"/api/v1/reports/{filed.json()['id']}/")

    assert filed.status_code == 201 and filed.json()["reporter"] == "Dee"
    assert {**filed.json(), "sent_at": None} == {**read.json(), "sent_at": None}


def _named_every_way(tiny_city) -> None:
    """Reports whose reporter's name is shown in each way public_reporter_name knows."""
    people = [
        factories.UserFactory.create(display_name="Dee"),
        factories.UserFactory.create(display_name="", first_name="Ed", last_name="Fox"),
        factories.UserFactory.create(display_name="", first_name="", last_name="Gil"),
        factories.UserFactory.create(display_name="", first_name="", last_name=""),
    ]
    for person in people:
        for shown in (True, False):
            factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=person, show_name=shown)
    for name in ("Ana", ""):
        for shown in (True, False):
            anonymous = factories.report(
                tiny_city.pothole,
                *tiny_city.EAST,
                reporter=None,
                reporter_name="Ana",
                reporter_email="anon@example.org",
                show_name=shown,
            )
            services.report_confirm(report_id=anonymous.pk)
            # a name left blank by an import or an erasure; a filing always asks for one
            Report.objects.filter(pk=anonymous.pk).update(reporter_name=name)
    Report.objects.filter(pk=anonymous.pk).update(extra={"depth": 3, "note": "wet"})
    _busy_report(tiny_city)
    services.report_transition(
        report_id=anonymous.pk, to_state=ReportState.VERIFIED, actor=tiny_city.east_staff
    )


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Madrid"])
def test_the_list_writes_each_report_as_its_serializer_says(tiny_city, language, zone, settings):
    """The list reads plain rows (output.list_rows), not model instances: each report of a page,
    in JSON and in GeoJSON, is what ReportSerializer writes for it."""
    from rest_framework.renderers import JSONRenderer
    from rest_framework.test import APIClient

    from reports.api.renderers import GeoJSONRenderer

    settings.TIME_ZONE = zone
    _named_every_way(tiny_city)
    reports = Report.objects.public().with_related().order_by("-created_at", "-id")
    request = Request(APIRequestFactory().get("/", HTTP_HOST="testserver"))
    with timezone.override(zone), translation.override(language):
        expected = {
            "results": [s.ReportSerializer(r, context={"request": request}).data for r in reports]
        }
    headers = {"HTTP_ACCEPT_LANGUAGE": language}

    page = APIClient().get("/api/v1/reports/", {"page_size": 200}, **headers).json()
    features = APIClient().get("/api/v1/reports/", {"format": "geojson"}, **headers).json()

    assert len(page["results"]) == reports.count() > 10
    assert page["results"] == json.loads(JSONRenderer().render(expected))["results"]
    as_geojson = json.loads(GeoJSONRenderer().render(expected))
    assert features["features"] == as_geojson["features"]
    assert {r["reporter"] for r in page["results"]} >= {"Dee", "Ed Fox", "Gil", "Ana"}
