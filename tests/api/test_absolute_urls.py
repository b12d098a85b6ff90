"""Links in the JSON answers are whole URLs: under FIXPOINT_PUBLIC_URL when it is set (the
address people use, whatever host a proxy passed on), else under the request's own host."""

from __future__ import annotations

from django.test import RequestFactory
from rest_framework.test import APIClient

from config.jsonapi import absolute_url
from tests import factories
from tests.conftest import TinyCity

PUBLIC = "https://fixpoint.example.org"


def test_without_a_public_url_links_use_the_host_the_request_came_in_by(
    tiny_city: TinyCity, settings
) -> None:
    settings.FIXPOINT_PUBLIC_URL = ""
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    listed = APIClient().get("/api/v1/reports/", HTTP_HOST="localhost").json()

    assert listed["results"][0]["url"] == f"http://localhost/reports/{report.ref}/"


def test_with_a_public_url_every_link_of_the_api_is_under_it(tiny_city: TinyCity, settings) -> None:
    settings.FIXPOINT_PUBLIC_URL = PUBLIC
    reports = [factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(2)]
    api = APIClient()

    page = api.get("/api/v1/reports/?page_size=1", HTTP_HOST="localhost").json()
    detail = api.get(f"/api/v1/reports/{reports[0].pk}/", HTTP_HOST="localhost").json()

    assert page["results"][0]["url"].startswith(f"{PUBLIC}/reports/")
    assert page["next"].startswith(f"{PUBLIC}/api/v1/reports/?cursor=")
    assert "page_size=1" in page["next"]
    assert detail["url"] == f"{PUBLIC}/reports/{reports[0].ref}/"


def test_with_a_public_url_open311_points_clients_at_it(tiny_city: TinyCity, settings) -> None:
    settings.FIXPOINT_PUBLIC_URL = PUBLIC

    discovery = APIClient().get("/open311/v2/discovery.json", HTTP_HOST="localhost").json()

    assert discovery["endpoints"][0]["url"] == f"{PUBLIC}/open311/v2"


def test_a_whole_url_is_kept_and_without_a_request_links_use_the_base_url(settings) -> None:
    settings.FIXPOINT_PUBLIC_URL = ""
    settings.FIXPOINT_BASE_URL = "https://mail.example.org"
    request = RequestFactory().get("/", HTTP_HOST="localhost")

    assert (
        absolute_url(request, "https://cdn.example.org/media/") == "https://cdn.example.org/media/"
    )
    assert absolute_url(request, "/media/") == "http://localhost/media/"
    assert absolute_url(None, "/reports/AB12/") == "https://mail.example.org/reports/AB12/"
    settings.FIXPOINT_PUBLIC_URL = PUBLIC
    assert absolute_url(None, "reports/AB12/") == f"{PUBLIC}/reports/AB12/"
