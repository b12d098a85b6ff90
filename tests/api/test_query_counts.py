"""Every list and detail of the API costs a fixed number of queries, however many rows it holds
(no query per row). Counted with a few rows and with many: the numbers must not move."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.services import api_client_create
from authorities.models import CategoryQuestion
from config import inserts
from reports import jobs, services, tasks
from reports.models import Report, ReportPhoto
from tests import factories


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _busy(tiny_city, count: int) -> list:
    """Reports with history, updates, supporters and photos: everything a row may show."""
    reports = [factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(count)]
    for report in reports:
        services.report_update_add(report_id=report.pk, author=None, text="Still", author_name="A")
        services.support_add(report_id=report.pk, user=factories.UserFactory.create())
        ReportPhoto.objects.create(report=report, image="reports/x/a.jpg", width=1, height=1)
        services.report_transition(
            report_id=report.pk, to_state="verified", actor=tiny_city.west_staff, public_note="Seen"
        )
    return reports


@pytest.mark.parametrize("count", [1, 8])
@pytest.mark.parametrize("fmt", ["json", "geojson"])
@pytest.mark.parametrize("where", [{}, {"bbox": "1.0,10.0,1.1,10.1"}])
def test_a_page_of_reports_costs_one_query(
    tiny_city, api, django_assert_num_queries, count, fmt, where
):
    _busy(tiny_city, count)

    with django_assert_num_queries(1):
        page = api.get("/api/v1/reports/", {"format": fmt, "page_size": 50, **where})

    assert page.status_code == 200
    assert len(page.json().get("results", page.json().get("features"))) == count


@pytest.mark.parametrize("count", [1, 8])
def test_a_report_in_detail_costs_three_queries(tiny_city, api, django_assert_num_queries, count):
    report = _busy(tiny_city, count)[0]
    for n in range(count):  # more updates and supporters on the same report
        services.report_update_add(report_id=report.pk, author=None, text=f"Again {n}")

    with django_assert_num_queries(3):  # the report (with supporters), history, updates
        data = api.get(f"/api/v1/reports/{report.pk}/").json()

    assert len(data["updates"]) == count + 1 and len(data["history"]) == 2


@pytest.mark.parametrize("count", [1, 8])
def test_categories_cost_two_queries(tiny_city, api, django_assert_num_queries, count):
    for n in range(count):
        category = factories.CategoryFactory.create()
        CategoryQuestion.objects.create(category=category, code=f"q{n}", label="Size?")

    with django_assert_num_queries(2):  # the categories, then all their questions
        found = api.get("/api/v1/categories/").json()

    assert len(found) == count + 2


@pytest.mark.parametrize("count", [1, 8])
@pytest.mark.parametrize("boundary", ["", "1"])
def test_authorities_cost_one_query(tiny_city, api, django_assert_num_queries, count, boundary):
    for n in range(count):
        factories.authority(f"Agency {n}", factories.square(1.0, 10.0, 0.2), parent=tiny_city.city)

    with django_assert_num_queries(1):  # with each one's parent's slug joined
        found = api.get("/api/v1/authorities/", {"boundary": boundary}).json()

    assert len(found) == count + 3 and all(("boundary" in a) == bool(boundary) for a in found)


@pytest.mark.parametrize("count", [1, 8])
def test_an_authoritys_statistics_cost_a_fixed_number_of_queries(
    tiny_city, api, django_assert_num_queries, count
):
    _busy(tiny_city, count)

    with django_assert_num_queries(5):  # authority, by state, fix times, last 30 days, supporters
        stats = api.get("/api/v1/authorities/west/stats/").json()

    assert stats["total"] == count and stats["supporters"] == count


@pytest.mark.parametrize("count", [1, 8])
def test_open311_requests_by_id_cost_one_query(
    tiny_city, client: Client, django_assert_num_queries, count
):
    refs = ",".join(report.ref for report in _busy(tiny_city, count))

    with django_assert_num_queries(1):
        found = client.get("/open311/v2/requests.json", {"service_request_id": refs}).json()

    assert len(found) == count and all(r["media_url"] for r in found)


@pytest.mark.parametrize("count", [0, 8])
def test_filing_with_an_api_key_costs_a_fixed_number_of_queries(
    tiny_city, api, django_assert_num_queries, count
):
    """Routing, the category and its questions, the destination and the authority's name come
    from the routing index; the ref is not looked up first (a taken one is retried)."""
    for _ in range(count):
        factories.report(tiny_city.pothole, *tiny_city.WEST)
    _, key = api_client_create(name="city app", scope="write", user=factories.UserFactory.create())
    api.credentials(HTTP_X_API_KEY=key)
    payload = {"title": "Hole", "description": "Deep", "category": "pothole"}
    api.post("/api/v1/reports/", {**payload, "latitude": 10.05, "longitude": 1.05}, format="json")

    # A savepoint (the test's transaction is around it), the report, its first history row, the
    # reporter's subscription, area alerts, the delivery, and the savepoint's release. The key
    # and routing's version were looked up by the first filing, less than a second ago.
    with django_assert_num_queries(7):
        response = api.post(
            "/api/v1/reports/", {**payload, "latitude": 10.06, "longitude": 1.06}, format="json"
        )

    assert response.status_code == 201
    assert response.json()["authority"] == {"slug": "west", "name": "West"}


@pytest.mark.skipif(not inserts.available(), reason="PostgreSQL's WITH ... INSERT")
@pytest.mark.django_db(transaction=True)
def test_filing_for_a_worker_to_follow_up_costs_the_key_and_one_statement(
    tiny_city, api, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(jobs, "coalescing", lambda: True)  # a broker and a shared cache
    monkeypatch.setattr(tasks.follow_up_filed_reports, "delay", lambda: None)
    _, key = api_client_create(name="city app", scope="write", user=factories.UserFactory.create())
    api.credentials(HTTP_X_API_KEY=key)
    payload = {"title": "Hole", "description": "Deep", "category": "pothole"}
    api.post("/api/v1/reports/", {**payload, "latitude": 10.05, "longitude": 1.05}, format="json")

    with django_assert_num_queries(1):  # outside any transaction: no BEGIN, no COMMIT
        response = api.post(
            "/api/v1/reports/", {**payload, "latitude": 10.06, "longitude": 1.06}, format="json"
        )

    assert response.status_code == 201
    assert Report.objects.get(pk=response.json()["id"]).history.count() == 1
