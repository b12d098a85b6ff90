"""The first page of a box (reports.api.box_page) answers exactly what the general list answers,
whatever the box holds; anything else about the request sends it down the general path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from reports import services
from reports.api import box_page
from reports.models import Report, ReportState
from tests import factories

BOXES = (
    "1.0,10.0,1.1,10.1",  # the West district
    "0.9,9.9,1.3,10.3",  # the whole city
    "1.06,10.06,1.08,10.08",  # a corner with a few
    "50,50,51,51",  # nothing
    "-400,-100,400,100",  # the world, clamped
)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def city_reports(tiny_city: Any) -> list[Report]:
    """Reports spread over both districts, some filed at the same moment (the cursor breaks
    ties by id), one private, one hidden as spam."""
    now = timezone.now()
    reports = []
    for n in range(14):
        where = tiny_city.WEST if n % 2 else tiny_city.EAST
        lat, lon = where[0] + (n % 5) * 0.004, where[1] + (n % 3) * 0.005
        report = factories.report(
            tiny_city.pothole if n % 2 else tiny_city.bins, lat, lon, title=f"Report {n}"
        )
        reports.append(report)
        Report.objects.filter(pk=report.pk).update(created_at=now - timedelta(hours=n // 3))
    Report.objects.filter(pk=reports[3].pk).update(is_private=True)
    services.report_transition(
        report_id=reports[5].pk, to_state=ReportState.SPAM, actor=tiny_city.west_staff
    )
    return reports


def general(api: APIClient, query: dict[str, Any]) -> Any:
    """The same request down the general path: an empty filter asks nothing more of it."""
    return api.get("/api/v1/reports/", {**query, "q": ""})


@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("size", [None, 1, 3, 200])
@pytest.mark.parametrize("fmt", ["json", "geojson"])
def test_a_boxs_first_page_is_the_general_lists_first_page(
    city_reports, api, django_assert_num_queries, box, size, fmt
):
    query = {"bbox": box, "format": fmt, **({"page_size": size} if size else {})}

    with django_assert_num_queries(1):
        fast = api.get("/api/v1/reports/", query)
    slow = general(api, query)

    assert fast.status_code == slow.status_code == 200
    assert fast.json() == {
        **slow.json(),
        **{link: _without_q(slow.json().get(link)) for link in ("next", "previous")},
    }


def _without_q(link: str | None) -> str | None:
    return link.replace("&q=", "").replace("q=&", "") if link else link


def test_following_next_from_a_boxs_first_page_walks_every_public_report_in_it_once(
    city_reports, api
):
    seen: list[str] = []
    url: str | None = "/api/v1/reports/?bbox=0.9,9.9,1.3,10.3&page_size=4"
    while url:
        page = api.get(url).json()
        seen += [r["ref"] for r in page["results"]]
        url = page["next"]

    public = Report.objects.public().values_list("ref", flat=True)
    assert len(seen) == len(set(seen)) and set(seen) == set(public) and len(seen) == 12


@pytest.mark.parametrize(
    "query",
    [
        {"bbox": "1.0,10.0,1.1,10.1", "state": "open"},
        {"bbox": "1.0,10.0,1.1,10.1", "ordering": "created_at"},
        {"bbox": "1.0,10.0,1.1,10.1", "category": "bins"},
        {"bbox": ["1.0,10.0,1.1,10.1", "0,0,1,1"]},
        {"bbox": "1,2,3"},
        {"bbox": "3,2,1,4"},
        {"page_size": "3"},
    ],
)
def test_a_request_that_asks_anything_more_or_is_not_valid_takes_the_general_path(
    city_reports, api, monkeypatch, query
):
    def refuse(*args: Any) -> None:
        raise AssertionError("took the first page of a box")

    monkeypatch.setattr(box_page.BoxPage, "__getitem__", refuse)

    answer = api.get("/api/v1/reports/", query)

    assert answer.status_code in (200, 400)
    if answer.status_code == 400:
        assert "bbox" in answer.json()["error"]["fields"]


def test_a_bad_page_size_is_refused_as_on_every_list(city_reports, api):
    answer = api.get("/api/v1/reports/", {"bbox": "1.0,10.0,1.1,10.1", "page_size": "x"})

    assert (
        answer.status_code
        == general(api, {"bbox": "1.0,10.0,1.1,10.1", "page_size": "x"}).status_code
    )


@pytest.mark.parametrize("fmt", [None, "json", "geojson"])
def test_a_box_and_nothing_else_is_served_without_building_the_general_query(
    city_reports, api, monkeypatch, fmt
):
    def refuse(*args: Any) -> None:
        raise AssertionError("built the general list's query")

    monkeypatch.setattr("reports.api.views.list_rows", refuse)

    answer = api.get(
        "/api/v1/reports/", {"bbox": "1.0,10.0,1.1,10.1", **({"format": fmt} if fmt else {})}
    )

    assert answer.status_code == 200
