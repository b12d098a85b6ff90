"""Redis down: the cache, the broker and the rate-limit counters are gone, and Fixpoint keeps
answering. Reads work from the database, every filing commits once and says so, rate limits count
in each process, and whatever was committed is followed up and delivered once Redis is back.

Redis here is a private redis-server on a free port (never the machine's), used as the cache and
as the broker, stopped (or frozen, as when the network to it is cut) in the middle of the test.
Tests are transactional so commits, and what runs after them, are real.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from rest_framework.test import APIClient

from accounts.api_auth import AccountRateThrottle, ClientRateThrottle
from accounts.models import ApiScope
from accounts.services import api_client_create
from config import cache as config_cache
from config.cache import unreachable as cache_unreachable
from reports import tasks
from reports.models import Delivery, DeliveryStatus, Report
from tests import factories
from tests.reports.workers import FORM, RedisServer, delivery_of, tasks_sent_to

pytestmark = pytest.mark.django_db(transaction=True)

MAP = "/map/reports.json?bbox=1.0,10.0,1.2,10.1&zoom=16&state=all"
API_FILING = {
    "title": "Deep hole",
    "description": "By the bus stop",
    "category": "pothole",
    "latitude": 10.05,
    "longitude": 1.05,
}


def open311_form(key: str, **fields: str) -> dict[str, str]:
    return {"api_key": key, "service_code": "pothole", "lat": "10.05", "long": "1.05",
            "description": "A hole by the bus stop.", **fields}  # fmt: skip


@pytest.fixture
def redis_cache(private_redis: RedisServer, settings: Any) -> Iterator[RedisServer]:
    """The private redis-server is the cache and the broker, as in production."""
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": private_redis.url,
            # Short, so the frozen-server test does not wait long for each attempt.
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    }
    with tasks_sent_to(private_redis.url):
        yield private_redis


@pytest.fixture
def api_key(tiny_city: Any) -> str:
    citizen = factories.UserFactory.create(email="app-user@example.org")
    return api_client_create(name="City app", scope=ApiScope.WRITE, user=citizen)[1]


@pytest.fixture
def api(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    return client


def test_with_redis_stopped_reads_answer_from_the_database(tiny_city, redis_cache, api, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Old hole")
    assert client.get(MAP).status_code == 200  # tiles cached while Redis is up

    redis_cache.stop()
    factories.report(tiny_city.pothole, *tiny_city.EAST, title="New hole")  # its bump is lost

    for url in (
        "/api/v1/reports/",
        f"/api/v1/reports/{report.pk}/",
        "/api/v1/categories/",
        "/api/v1/authorities/",
        "/api/v1/locate?lat=10.05&lon=1.05",
    ):
        response = api.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        assert response["Content-Type"].startswith("application/json")
    titles = {r["title"] for r in api.get("/api/v1/reports/").json()["results"]}
    assert titles == {"Old hole", "New hole"}
    answer = client.get(MAP)
    assert answer.status_code == 200
    assert len(answer.json()["features"]) == 2  # the new report too: never a stale tile
    assert client.get("/boundaries.json").status_code == 200
    assert client.get("/").status_code == 200


def test_with_redis_stopped_people_sign_in_on_the_site_and_for_a_token(tiny_city, redis_cache):
    person = factories.UserFactory.create(email="marta@example.org")
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    redis_cache.stop()

    site = APIClient(enforce_csrf_checks=False)
    signed_in = site.post(
        "/accounts/login/", {"login": "marta@example.org", "password": "pw-for-tests"}
    )
    token = APIClient().post(
        "/api/v1/auth/token/", {"username": "marta@example.org", "password": "pw-for-tests"}
    )

    assert signed_in.status_code == 302 and site.get("/my/reports/").status_code == 200
    assert token.status_code == 200 and token.json()["token"]


def test_with_redis_stopped_an_api_filing_commits_once_and_answers_201(tiny_city, redis_cache, api):
    redis_cache.stop()

    response = api.post("/api/v1/reports/", API_FILING, format="json")

    assert response.status_code == 201, response.content[:500]
    report = Report.objects.get()
    assert response.json()["id"] == report.pk and report.state == "open"


def test_with_redis_stopped_an_open311_filing_commits_once_and_answers_200(
    tiny_city, redis_cache, api_key, client
):
    redis_cache.stop()

    response = client.post("/open311/v2/requests.json", open311_form(api_key))

    assert response.status_code == 200, response.content[:500]
    report = Report.objects.get()
    assert response.json()[0]["service_request_id"] == report.ref


def test_with_redis_stopped_updates_and_support_are_written_and_answered(
    tiny_city, redis_cache, api
):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    redis_cache.stop()

    update = api.post(f"/api/v1/reports/{report.pk}/updates/", {"text": "Still there"})
    support = api.post(f"/api/v1/reports/{report.pk}/support/")

    assert update.status_code == 201 and report.updates.count() == 1
    assert support.status_code == 200 and support.json() == {"added": True, "supporters": 1}


def test_with_redis_stopped_rate_limits_count_in_each_process(
    tiny_city, redis_cache, api, client, settings, monkeypatch
):
    monkeypatch.setattr(AccountRateThrottle, "THROTTLE_RATES", {"user": "3/min"})
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "3/min"})
    settings.FIXPOINT_REPORT_RATE = 2
    redis_cache.stop()

    answers = [api.get("/api/v1/categories/") for _ in range(4)]
    client.force_login(factories.UserFactory.create())
    pages = [client.post("/reports/new/", FORM) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert answers[-1].json()["error"]["code"] == "throttled"
    assert [p.status_code for p in pages[:2]] == [302, 302]
    assert pages[2].status_code == 200 and Report.objects.count() == 2  # refused, said why
    assert "Please wait" in pages[2].content.decode()


def test_the_site_login_is_still_rate_limited_with_redis_stopped(tiny_city, redis_cache, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip"}
    person = factories.UserFactory.create(email="marta@example.org")
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    redis_cache.stop()
    site = APIClient()

    wrong = [
        site.post("/accounts/login/", {"login": person.email, "password": "nope"}) for _ in range(4)
    ]
    right = site.post("/accounts/login/", {"login": person.email, "password": "pw-for-tests"})

    too_many = "Too many failed login attempts"
    assert [too_many in w.content.decode() for w in wrong] == [False, False, False, True]
    assert right.status_code == 200 and too_many in right.content.decode()  # still counted


def test_map_tiles_cached_before_a_cut_to_redis_are_not_served_after_it(
    tiny_city, redis_cache, client, monkeypatch
):
    monkeypatch.setattr(config_cache, "RETRY_SECONDS", 0.2)
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="Before")
    assert len(client.get(MAP).json()["features"]) == 1  # cached in Redis

    redis_cache.freeze()  # the network to Redis is cut: it keeps what it holds
    factories.report(tiny_city.pothole, *tiny_city.EAST, title="During")  # its bump is lost
    assert len(client.get(MAP).json()["features"]) == 2
    redis_cache.thaw()
    time.sleep(0.3)  # the retry pause is over: the next use finds Redis again

    assert len(client.get(MAP).json()["features"]) == 2  # not the tile cached before the cut
    assert cache_unreachable() is False


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: the Celery worker subprocess must open the test database",
)
def test_reports_filed_while_redis_was_down_are_delivered_once_it_is_back(
    tiny_city, workers, council_mail, private_redis, settings, api_key, client
):
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.RedisCache", "LOCATION": private_redis.url}
    }
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=api_key)
    with tasks_sent_to(private_redis.url):
        worker = workers.start(private_redis.url)
        private_redis.stop()
        filed = api.post("/api/v1/reports/", API_FILING, format="json")
        posted = client.post("/open311/v2/requests.json", open311_form(api_key))
        client.force_login(factories.UserFactory.create())
        page = client.post("/reports/new/", FORM)
        assert (filed.status_code, posted.status_code, page.status_code) == (201, 200, 302)
        reports = list(Report.objects.order_by("pk"))
        assert len(reports) == 3 and not Delivery.objects.filter(status="sent").exists()

        private_redis.start()  # on the same port, empty: nothing queued survived
        tasks.follow_up_filed_reports.delay()  # what Celery beat sends every minute
        tasks.send_pending_deliveries.delay()
        sent = [delivery_of(r, DeliveryStatus.SENT, workers.log, seconds=60) for r in reports]
        tasks.send_pending_deliveries.delay()
        worker.drain()

    messages = council_mail.to_council()
    assert sorted(m["Message-ID"] for m in messages) == sorted(d.remote_id for d in sent)
    assert Delivery.objects.count() == 3


def _named_routes() -> list[tuple[str, list[str]]]:
    """Every named route of the site: (name with namespaces, its URL keyword arguments)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns: list[Any], namespace: str) -> Iterator[tuple[str, list[str]]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                names = list(pattern.pattern.regex.groupindex)
                for name, kwargs in walk(pattern.url_patterns, inner):
                    yield name, names + kwargs
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield namespace + pattern.name, list(pattern.pattern.regex.groupindex)

    found = {(name, tuple(kwargs)) for name, kwargs in walk(get_resolver().url_patterns, "")}
    return sorted((name, list(kwargs)) for name, kwargs in found)


def test_with_redis_stopped_every_page_answers_as_it_does_with_redis(
    tiny_city, redis_cache, client
):
    """Every named route, filled with a real report's values, as a visitor and as a superuser,
    with Redis and then without: the same statuses. A new page is covered without anyone adding
    it here. (Statuses, not bodies: the map and the rate limits may differ by design.)"""
    from django.urls import NoReverseMatch, reverse

    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    values = {"ref": report.ref, "pk": report.pk, "id": report.pk, "object_id": report.pk,
              "slug": "west", "service_code": "pothole", "service_request_id": report.ref,
              "fmt": "json", "format": "json", "token": "x", "app_label": "reports"}  # fmt: skip
    paths = []
    for name, kwargs in _named_routes():
        try:
            paths.append(reverse(name, kwargs={k: values.get(k, "x") for k in kwargs}))
        except NoReverseMatch:
            continue
    admin = factories.UserFactory.create(is_staff=True, is_superuser=True)
    client.raise_request_exception = False

    def statuses() -> dict[tuple[str, bool], int]:
        answers = {}
        for signed_in in (False, True):
            client.logout()
            if signed_in:
                client.force_login(admin)
            for path in paths:
                answers[path, signed_in] = client.get(path).status_code
        return answers

    with_redis = statuses()
    redis_cache.stop()
    without_redis = statuses()

    assert len(paths) > 60
    changed = {k: (with_redis[k], v) for k, v in without_redis.items() if v != with_redis[k]}
    assert changed == {}
