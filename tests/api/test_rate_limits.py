"""Limits that hold on every door: the report rate of the website on the REST API and Open311
(per person, per API key, per IP address), and the web login's lockout on the token endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.services import api_client_create
from reports import ratelimit
from reports.models import Report
from tests import factories
from tests.conftest import TinyCity

PASSWORD = "pw-for-tests"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every filing of a test in one window (the counters' windows are fixed, like the API's)."""
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0 + 60)


def report(city: TinyCity, **fields: Any) -> dict[str, Any]:
    return {
        "title": "Hole",
        "description": "Deep",
        "category": "pothole",
        "latitude": city.WEST[0],
        "longitude": city.WEST[1],
        **fields,
    }


def open311(city: TinyCity, key: str, **fields: Any) -> dict[str, Any]:
    return {
        "api_key": key,
        "service_code": "pothole",
        "lat": city.WEST[0],
        "long": city.WEST[1],
        "description": "A deep hole",
        **fields,
    }


def test_a_citizen_filing_through_the_api_is_held_to_the_websites_report_rate(
    tiny_city, api, settings
):
    settings.FIXPOINT_REPORT_RATE = 5
    api.force_authenticate(factories.UserFactory.create())

    codes = [api.post("/api/v1/reports/", report(tiny_city), format="json") for _ in range(12)]

    assert [r.status_code for r in codes] == [201] * 5 + [429] * 7
    refused = codes[5]
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) == settings.FIXPOINT_REPORT_RATE_WINDOW_MINUTES * 60 - 60
    assert Report.objects.count() == 5


def test_the_website_the_api_and_open311_count_one_persons_reports_together(
    tiny_city, client, api, settings
):
    settings.FIXPOINT_REPORT_RATE = 2
    citizen = factories.UserFactory.create(email="ann@example.org")
    partner = factories.UserFactory.create()
    _, key = api_client_create(
        name="Citizens' app", scope="write", user=partner, files_for_citizens=True
    )
    client.force_login(citizen)
    api.force_authenticate(citizen)

    web = client.post(
        "/reports/new/",
        {**report(tiny_city), "confirm_new": "True"},
    )
    by_api = api.post("/api/v1/reports/", report(tiny_city), format="json")
    by_web_again = client.post("/reports/new/", {**report(tiny_city), "confirm_new": "True"})
    # Open311 files for the e-mail address: its own count, shared with the website's visitors.
    for_her = [
        Client()
        .post(
            "/open311/v2/requests.json",
            open311(tiny_city, key, email="ann@example.org", first_name="Ann"),
        )
        .status_code
        for _ in range(3)
    ]

    assert web.status_code == 302 and by_api.status_code == 201
    assert "several reports in a short time" in by_web_again.content.decode()
    assert for_her == [200, 200, 429]
    assert Report.objects.count() == 4


def test_filings_without_a_key_are_also_counted_per_ip_address(tiny_city, api, settings):
    settings.FIXPOINT_REPORT_RATE = 1  # so 4 from one address
    codes = []
    for _ in range(5):
        api.force_authenticate(factories.UserFactory.create())
        codes.append(api.post("/api/v1/reports/", report(tiny_city), format="json").status_code)

    assert codes == [201, 201, 201, 201, 429]


def test_an_api_keys_filings_are_counted_per_key_whoever_they_are_for(tiny_city, settings):
    settings.FIXPOINT_REPORT_RATE_PER_KEY = 3
    _, key = api_client_create(
        name="Citizens' app",
        scope="write",
        user=factories.UserFactory.create(),
        files_for_citizens=True,
    )
    _, own = api_client_create(name="Council CRM", scope="write", user=tiny_city.west_staff)
    browser = Client()

    for_many = [
        browser.post(
            "/open311/v2/requests.json",
            open311(tiny_city, key, email=f"person{n}@example.org", first_name="P"),
        )
        for n in range(4)
    ]
    as_itself = [
        browser.post("/open311/v2/requests.json", open311(tiny_city, own)).status_code
        for _ in range(4)
    ]

    assert [r.status_code for r in for_many] == [200, 200, 200, 429]
    assert int(for_many[3]["Retry-After"]) == settings.FIXPOINT_REPORT_RATE_WINDOW_MINUTES * 60 - 60
    assert for_many[3].json()[0]["code"] == 429
    assert as_itself == [200, 200, 200, 429]  # a system's key: its key's limit, not a person's
    assert Report.objects.count() == 6


def test_the_token_endpoint_locks_an_account_as_the_web_login_does(db, api, client):
    factories.UserFactory.create(email="ana@example.org", password=PASSWORD)
    wrong = [
        api.post(
            "/api/v1/auth/token/",
            {"username": "ana@example.org", "password": f"guess {n}"},
            REMOTE_ADDR=f"10.0.0.{n}",  # many addresses: the account, not the address, is locked
        ).status_code
        for n in range(5)
    ]

    right = api.post("/api/v1/auth/token/", {"username": "Ana@example.org", "password": PASSWORD})
    web = client.post("/accounts/login/", {"login": "ana@example.org", "password": PASSWORD})

    assert wrong == [400] * 5
    assert right.status_code == 429 and "token" not in right.json()
    assert right.json()["error"]["code"] == "throttled" and int(right["Retry-After"]) > 0
    assert web.status_code == 200 and "_auth_user_id" not in client.session  # the same lock


def test_failures_on_the_web_login_lock_the_token_endpoint_too(db, api, client):
    factories.UserFactory.create(email="ana@example.org", password=PASSWORD)
    for n in range(5):
        client.post("/accounts/login/", {"login": "ana@example.org", "password": f"guess {n}"})

    right = api.post("/api/v1/auth/token/", {"username": "ana@example.org", "password": PASSWORD})

    assert right.status_code == 429


def test_a_right_password_does_not_spend_the_accounts_allowance(db, api):
    factories.UserFactory.create(email="ana@example.org", password=PASSWORD)

    codes = [
        api.post(
            "/api/v1/auth/token/", {"username": "ana@example.org", "password": PASSWORD}
        ).status_code
        for _ in range(8)
    ]

    assert codes == [200] * 8
