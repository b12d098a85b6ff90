"""Malformed input found by an outside probe: each gets a clear 4xx in its endpoint's own error
shape, never a 500 (issue 13, finding 6). tests/config/test_fuzz_routes.py closes the class."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests import factories

OPEN311 = [
    "/open311/v2/requests.json?page=%C2%B2",
    "/open311/v2/requests.json?page_size=%C2%B2",
    "/open311/v2/requests.json?page=99999999999999999999999",
    "/open311/v2/requests.json?start_date=2026-01-01T00:00:00%2B99:99",
    "/open311/v2/requests.json?start_date=0001-01-01",
    "/open311/v2/requests.json?bbox=nan,1,2,3",
]


@pytest.mark.parametrize("url", OPEN311)
def test_odd_open311_paging_and_dates_get_the_specs_400(tiny_city, client, url):
    factories.report(tiny_city.pothole, *tiny_city.WEST)

    response = client.get(url)

    assert response.status_code == 400, response.content[:300]
    [error] = response.json()
    assert error["code"] == 400
    assert error["description"]


def test_a_nul_in_an_open311_query_gets_the_specs_400_in_xml(tiny_city, client):
    response = client.get("/open311/v2/requests.xml?service_code=%00")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/xml")
    assert b"<errors><error><code>400</code>" in response.content


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/map/reports.json?bbox=1,10,1.2,10.2&zoom=12&age=%C2%B2", "invalid_age"),
        ("/map/list.json?bbox=1,10,1.2,10.2&lat=1e400&lon=1e400&sort=nearest", "invalid"),
        ("/map/list.json?bbox=1,10,1.2,10.2&lat=nan&lon=1&sort=nearest", "invalid"),
        ("/search.json?q=%00%00", "invalid"),
        ("/locate.json?lat=%C2%B2&lon=1", "invalid"),
    ],
)
def test_odd_map_and_search_parameters_get_a_json_400(tiny_city, client, url, code):
    factories.report(tiny_city.pothole, *tiny_city.WEST)

    response = client.get(url)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("url", ["/reports/%00/", "/reports/%00/feed/"])
def test_a_nul_in_a_report_address_is_a_404(tiny_city, client, url):
    assert client.get(url).status_code == 404


def test_a_nul_in_a_page_parameter_is_a_400_page(tiny_city, client):
    response = client.get("/leaderboards/?area=%00")

    assert response.status_code == 400
    assert b"NUL" in response.content  # the page says what was wrong


def test_staff_statistics_for_dates_near_the_end_of_time_say_what_is_wrong(tiny_city, client):
    client.force_login(tiny_city.west_staff)

    response = client.get("/staff/stats/?date_from=9999-01-01&date_to=9999-12-31")

    assert response.status_code == 400
    assert "2999-12-31" in response.content.decode()  # the form's error names the limit


def test_staff_statistics_for_a_period_inside_the_limits_still_work(tiny_city, client):
    client.force_login(tiny_city.west_staff)

    response = client.get("/staff/stats/?date_from=2999-01-01&date_to=2999-12-31")

    assert response.status_code == 200


def test_a_bulk_action_on_something_that_is_not_a_report_id_is_a_400(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    response = client.post("/staff/bulk/", {"reports": ["²", str(report.pk)], "action": "verify"})

    assert response.status_code == 400
    report.refresh_from_db()
    assert report.state == "open"  # nothing was done


def _api_routes() -> list[str]:
    """Every route under /api/v1/ (as a regex), found in the URLconf: a new one is covered."""
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                found.append(route)

    walk(get_resolver().url_patterns, "")
    return [route for route in found if "format" not in route]


def _fill(route: str, report_id: int, slug: str) -> str:
    path = route.replace("(?P<pk>[^/.]+)", str(report_id))
    return "/" + path.replace("(?P<slug>[-a-zA-Z0-9_]+)", slug)


@pytest.mark.parametrize("route", _api_routes())
def test_a_json_body_nested_5000_deep_is_refused_in_the_api_error_shape_on_every_route(
    tiny_city, client, route
):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)
    body = "[" * 5000 + "]" * 5000

    response = client.post(
        _fill(route, report.pk, tiny_city.west.slug), body, content_type="application/json"
    )

    # A route that reads no body (support, redeem) may answer as usual; one that reads it, 400.
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert response.json()["error"]["code"] in (
            "parse_error",
            "method_not_allowed",
            "not_found",
        )
    if route.endswith(("reports/", "/transition/", "/updates/", "auth/token/")):
        assert response.json()["error"]["code"] == "parse_error"


def test_a_json_body_nested_deeper_than_the_limit_is_refused_but_a_normal_one_is_filed(
    tiny_city, client
):
    client.force_login(factories.UserFactory.create())
    filing = {
        "title": "Hole",
        "description": "Deep.",
        "category": "pothole",
        "latitude": tiny_city.WEST[0],
        "longitude": tiny_city.WEST[1],
    }
    nested: Any = "x"
    for _ in range(40):
        nested = [nested]

    deep = client.post("/api/v1/reports/", {**filing, "extra": {"a": nested}}, "application/json")
    fine = client.post("/api/v1/reports/", filing, content_type="application/json")

    assert deep.status_code == 400
    assert "nested deeper" in deep.json()["error"]["message"]
    assert fine.status_code == 201


# --- found by tests/config/test_fuzz_routes.py ---------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/players/99999999999999999999999/", "/staff/reports/99999999999999999999999/"]
)
def test_an_id_in_an_address_too_large_for_the_database_is_a_404(tiny_city, client, url):
    client.force_login(tiny_city.west_staff)

    assert client.get(url).status_code == 404


def test_an_empty_to_field_in_the_admin_means_the_primary_key(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(factories.UserFactory.create(is_staff=True, is_superuser=True))

    response = client.get(f"/admin/reports/report/{report.pk}/change/?_to_field=")

    assert response.status_code == 200


def test_the_schema_ignores_a_version_that_would_break_its_headers(client):
    response = client.get("/api/schema/", {"version": "\x01\r\nX-Injected: 1"})

    assert response.status_code == 200
    assert "X-Injected" not in response


def test_api_routes_have_no_format_suffix_twins_that_crash(tiny_city, client):
    """`.json` twins of the API's actions passed the suffix to actions that take none (500)."""
    assert client.get(f"/api/v1/authorities/{tiny_city.west.slug}/stats.json").status_code == 404
    assert (
        client.get(f"/api/v1/authorities/{tiny_city.west.slug}/stats/?format=json").status_code
        == 200
    )


@pytest.mark.parametrize(
    ("next_url", "lands_on_the_report"),
    [("1", True), ("https://evil.example/", True), ("//evil.example/", True), ("/alerts/", False)],
)
def test_support_goes_back_only_to_a_page_of_this_site(
    tiny_city, client, next_url, lands_on_the_report
):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(factories.UserFactory.create())

    response = client.post(f"/reports/{report.ref}/support/", {"next": next_url})

    assert response.status_code == 302
    expected = report.get_absolute_url() if lands_on_the_report else next_url
    assert response["Location"] == expected


def test_a_unicode_digit_as_the_original_of_a_duplicate_is_not_a_500(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(tiny_city.west_staff)

    response = client.post(
        f"/api/v1/reports/{report.pk}/transition/",
        {"state": "duplicate", "duplicate_of": "²"},
        content_type="application/json",
    )

    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]


def test_no_code_trusts_str_isdigit_before_int():
    """`str.isdigit()` is true for "²", which int() refuses: numbers from text are read with
    config.params.whole_number. Flags an isdigit()/isdecimal()/isnumeric() check with an int()
    on the same line or the three after (telling digits from letters in a word is fine)."""
    root = Path(__file__).resolve().parents[2]
    found = []
    for app in ("accounts", "authorities", "reports", "gamification", "config"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts or path.name == "params.py":
                continue
            lines = path.read_text().splitlines()
            for number, line in enumerate(lines):
                after = "\n".join(lines[number : number + 4])
                if re.search(r"\.is(digit|decimal|numeric)\(", line) and "int(" in after:
                    found.append(f"{path.relative_to(root)}:{number + 1}")
    assert found == []
