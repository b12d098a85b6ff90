"""Coordinates the database can index: a latitude or longitude a hair from 0 (a subnormal double
such as 5e-324, which a client or a cell-edge computation can send) is stored as 0.

Why: PostgreSQL's GiST index on a report's point computes the area of each page's bounding box.
A page holding only points that tiny has an area below the smallest double, and PostgreSQL
refuses that product ("value out of range: underflow"): every later filing that descends
through that page failed, also after the tiny rows were rolled back, until the index was
rebuilt. Seen as a flaky test of the map's rollup, whose cell corners at zoom 0 are 0.0."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from reports.models import Report, ReportState
from tests.conftest import TinyCity

TINY = 5e-324  # the smallest positive double


def _reports(city: TinyCity, places: list[tuple[float, float]], start: int) -> list[Report]:
    now = timezone.now()
    return [
        Report(
            ref=f"C{start + i:07d}",
            title="Here",
            description="-",
            category=city.pothole,
            latitude=lat,
            longitude=lon,
            authority=city.city,
            state=ReportState.OPEN,
            created_at=now,
            updated_at=now,
        )
        for i, (lat, lon) in enumerate(places)
    ]


def test_a_coordinate_a_hair_from_zero_is_stored_as_zero(tiny_city: TinyCity) -> None:
    places = [(TINY, -TINY), (-1e-300, 1e-12), (1e-9, -1e-9), (0.0, 10.05)]
    Report.objects.bulk_create(_reports(tiny_city, places, 0))

    stored = list(Report.objects.order_by("ref").values_list("latitude", "longitude"))

    # Below a nanodegree (0.1 mm) is 0; a nanodegree and more is kept as sent.
    assert stored == [(0.0, 0.0), (0.0, 0.0), (1e-9, -1e-9), (0.0, 10.05)]


def test_moving_a_report_a_hair_from_zero_stores_zero(tiny_city: TinyCity) -> None:
    [report] = Report.objects.bulk_create(_reports(tiny_city, [(10.05, 1.05)], 0))
    Report.objects.filter(pk=report.pk).update(latitude=-TINY)
    report.longitude = TINY
    report.save(update_fields=["longitude"])

    assert Report.objects.values_list("latitude", "longitude").get() == (0.0, 0.0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's GiST index")
def test_reports_at_tiny_coordinates_do_not_stop_later_filings(tiny_city: TinyCity) -> None:
    """Enough of them to fill pages of the index by themselves, then ordinary filings."""
    tiny = [(TINY * (i % 3), -TINY * (i % 2)) for i in range(2000)]
    Report.objects.bulk_create(_reports(tiny_city, [(10.05, 1.05)] * 2000, 0))
    Report.objects.bulk_create(_reports(tiny_city, tiny, 2000))

    Report.objects.bulk_create(_reports(tiny_city, [(10.1, 1.1), (1e-300, 2e-300)], 4000))

    assert Report.objects.count() == 4002


def test_the_database_refuses_a_tiny_coordinate_written_around_the_models(
    tiny_city: TinyCity,
) -> None:
    [report] = Report.objects.bulk_create(_reports(tiny_city, [(10.05, 1.05)], 0))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE reports_report SET latitude = %s WHERE id = %s", [TINY, report.pk])
