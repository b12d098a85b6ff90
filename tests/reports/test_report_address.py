"""A report keeps the nearest address or place it was filed at ("near Carrer de Mallorca 401"),
from the local gazetteer, and shows it on its page, to the council, to staff, in the API and in
Open311."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from authorities.geocoding.files import AddressRow, PlaceRow
from authorities.geocoding.services import gazetteer_import
from reports import followups, jobs
from reports.delivery.email import compose_email
from reports.models import Delivery, Report
from tests import factories

MALLORCA_401 = (41.40325, 2.17487)
NEAR_401 = (41.40330, 2.17490)  # about 6 m away


@pytest.fixture
def streets(barcelona: Any) -> Any:
    gazetteer_import(
        rows=[
            AddressRow("test", "Carrer de Mallorca", "401", *MALLORCA_401, city="Barcelona"),
            PlaceRow(
                "test",
                "Sagrada Família",
                {"type": "Point", "coordinates": [2.17436, 41.40363]},
                "landmark",
            ),
        ],
        source="test",
    )
    return barcelona


def test_a_report_filed_by_an_address_stores_that_address(streets):
    report = factories.report(streets.pavement, *NEAR_401)

    assert report.address == "Carrer de Mallorca 401, Barcelona"


def test_with_a_broker_the_worker_fills_the_address_with_the_rest_of_the_follow_up(
    streets, monkeypatch
):
    monkeypatch.setattr(jobs, "coalescing", lambda: True)
    monkeypatch.setattr(jobs, "follow_ups_wake", lambda: None)
    report = factories.report(streets.pavement, *NEAR_401)
    assert report.address == ""  # the filing itself asked nothing more of the database

    followups.reports_follow_up()

    assert Report.objects.get(pk=report.pk).address == "Carrer de Mallorca 401, Barcelona"


def test_without_a_gazetteer_filing_looks_for_no_address(barcelona):
    factories.report(barcelona.pavement, *NEAR_401)  # the routing index is built by now
    citizen = factories.UserFactory.create()

    with CaptureQueriesContext(connection) as queries:
        report = factories.report(barcelona.pavement, *NEAR_401, reporter=citizen)

    assert report.address == ""
    assert not [q for q in queries.captured_queries if "addresspoint" in q["sql"].lower()]


def test_a_report_far_from_every_address_and_place_stores_none(streets):
    report = factories.report(streets.pavement, 41.3800, 2.1200)  # Sants, 5 km away

    assert report.address == ""


def test_the_report_page_staff_pages_api_and_open311_show_the_address(streets, client):
    report = factories.report(streets.pavement, *NEAR_401)
    staff = factories.staff(report.authority)

    page = client.get(report.get_absolute_url()).content.decode()
    api = client.get(f"/api/v1/reports/{report.pk}/").json()
    open311 = client.get(f"/open311/v2/requests/{report.ref}.json").json()
    client.force_login(staff)
    work = client.get(f"/staff/reports/{report.pk}/").content.decode()
    queue = client.get("/staff/").content.decode()

    assert "near Carrer de Mallorca 401, Barcelona" in page
    assert api["address"] == "Carrer de Mallorca 401, Barcelona"
    assert open311[0]["address"] == "Carrer de Mallorca 401, Barcelona"
    assert "near Carrer de Mallorca 401, Barcelona" in work
    assert "near Carrer de Mallorca 401, Barcelona" in queue


def test_open311_falls_back_to_the_neighbourhood_without_an_address(barcelona, client):
    area = factories.area("Sants", factories.square(2.12, 41.38, 0.01), barcelona.city)
    report = factories.report(barcelona.pavement, 41.3800, 2.1200)
    assert report.address == ""

    open311 = client.get(f"/open311/v2/requests/{report.ref}.json").json()

    assert open311[0]["address"] == area.name


def test_the_council_email_says_near_which_address(streets):
    report = factories.report(streets.pavement, *NEAR_401)
    delivery = Delivery.objects.get(report=report)

    message = compose_email(delivery, "council@example.org")

    assert "Near: Carrer de Mallorca 401, Barcelona" in message.body
    assert "Carrer de Mallorca 401, Barcelona" in str(message.alternatives[0][0])
