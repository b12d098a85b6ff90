"""Odd input that PostgreSQL refuses must be a 4xx in the spec's format, never a 500."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.mark.parametrize(
    "url",
    [
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00%2B20:41",
        "/open311/v2/requests.json?updated_after=2026-01-01T00:00:00%2B20:41",
        "/open311/v2/servicerequestupdates.json?start_date=2026-01-01T00:00:00%2B20:41",
        "/open311/v2/requests.json?service_code=%00",
        "/open311/v2/requests.json?service_request_id=%00",
        "/open311/v2/requests/%00.json",
    ],
)
def test_odd_dates_and_nul_bytes_get_a_clear_error(tiny_city, client, url):
    factories.report(tiny_city.pothole, *tiny_city.WEST)

    response = client.get(url)

    assert response.status_code in (200, 400, 404), response.content[:200]
    if response.status_code != 200:
        assert response.json()[0]["description"]
