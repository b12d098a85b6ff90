"""Filing and delivering a report never reads a boundary: an authority's or area's GeoJSON is
hundreds of KB (Barcelona's is 380 KB, about 8 ms to decode), and loaded with the report's
authority it cost every filing several decodes (issue 18). Routing holds the polygons in memory;
whatever names the authority or the area (the answer, the alerts, the e-mail to the council)
reads its name. Every door is checked in both modes: in-process (no broker, the tests' default)
and with a worker following the filing up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import api_client_create
from reports import delivery, followups, jobs, notifications, tasks
from reports.models import Delivery, DeliveryStatus, Notification, Report, SubscriptionKind
from tests import factories
from tests.conftest import TinyCity

NEIGHBOURHOOD = factories.square(1.0, 10.0, 0.1)  # the west district's square


def boundary_reads(queries: list[dict[str, Any]]) -> list[str]:
    return [q["sql"] for q in queries if '"boundary"' in q["sql"]]


@pytest.fixture
def watched(tiny_city: TinyCity) -> TinyCity:
    """A neighbourhood and the west district each with a subscriber to alert (the alerts name
    them), and a write key's account."""
    area = factories.area("Old Town", NEIGHBOURHOOD, authority=tiny_city.west)
    places: list[tuple[str, dict[str, Any]]] = [
        (SubscriptionKind.AREA, {"area": area}),
        (SubscriptionKind.AUTHORITY, {"authority": tiny_city.west}),
    ]
    for kind, place in places:
        user = factories.UserFactory.create(email=f"{kind}@example.org")
        notifications.subscription_create(email=user.email, user=user, kind=kind, **place)
    return tiny_city


@pytest.fixture
def key(watched: TinyCity) -> str:
    user = factories.UserFactory.create(email="app@partner.example.org")
    return api_client_create(name="Partner app", scope="write", user=user)[1]


def file_rest(key: str, n: int) -> str:
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=key)
    payload = {"title": f"Hole {n}", "description": "Deep", "category": "pothole"}
    response = api.post("/api/v1/reports/", {**payload, "latitude": 10.05, "longitude": 1.05})
    assert response.status_code == 201, response.content
    assert response.json()["authority"] == {"slug": "west", "name": "West"}
    return str(response.json()["ref"])


def file_open311(key: str, n: int) -> str:
    form = {"api_key": key, "service_code": "pothole", "lat": "10.05", "long": "1.05",
            "description": f"Hole {n}", "email": "ann@example.org"}  # fmt: skip
    response = Client().post("/open311/v2/requests.json", form)
    assert response.status_code == 200, response.content
    [row] = response.json()
    assert row["service_notice"] == "Sent to West."
    return str(row["service_request_id"])


DOORS = {"rest": file_rest, "open311": file_open311}


@pytest.mark.parametrize("door", DOORS)
def test_filing_in_process_and_its_delivery_read_no_boundary(
    key: str, door: str, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    file: Callable[[str, int], str] = DOORS[door]
    with django_capture_on_commit_callbacks(execute=True):
        file(key, 0)  # routing's index is built (it reads every boundary once a version)

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        ref = file(key, 1)

    report = Report.objects.get(ref=ref)
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT
    assert any(ref in message.subject for message in mailoutbox)  # the council's e-mail
    alerts = Notification.objects.filter(kind="new_report", report=report)
    assert alerts.count() == 2  # the area's and the district's subscribers
    assert boundary_reads(queries.captured_queries) == []


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A broker and a cache the workers share: the filing leaves its follow-up to a worker."""
    monkeypatch.setattr(jobs, "coalescing", lambda: True)
    monkeypatch.setattr(tasks.follow_up_filed_reports, "delay", lambda: None)
    monkeypatch.setattr(tasks.dispatch_deliveries, "delay", lambda: None)
    cache.delete_many([followups.WAKE_KEY, delivery.WAKE_KEY])
    yield
    cache.delete_many([followups.WAKE_KEY, delivery.WAKE_KEY])


@pytest.mark.parametrize("door", DOORS)
def test_filing_for_a_worker_and_the_workers_follow_up_and_delivery_read_no_boundary(
    key: str,
    door: str,
    broker: None,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    DOORS[door](key, 0)

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        ref = DOORS[door](key, 1)
        followups.reports_follow_up()
        delivery.deliveries_send_due()

    report = Report.objects.get(ref=ref)
    assert Delivery.objects.get(report=report).status == DeliveryStatus.SENT
    assert Notification.objects.filter(kind="new_report", report=report).count() == 2
    assert boundary_reads(queries.captured_queries) == []
