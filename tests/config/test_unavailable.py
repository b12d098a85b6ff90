"""A Redis or broker error that escapes a view is a 503 with Retry-After in the shape of what was
asked (the API's error, Open311's error list, a plain page), never an HTML 500."""

from __future__ import annotations

import json
import time
from xml.etree import ElementTree

import pytest
import redis
from django.test import RequestFactory

from config import broker
from config.unavailable import ServiceUnavailableMiddleware
from reports.tasks import follow_up_filed_reports
from tests.reports.mail import free_port
from tests.reports.workers import tasks_sent_to


def _refused() -> redis.ConnectionError:
    try:
        redis.Redis(port=free_port(), socket_connect_timeout=1).ping()
    except redis.ConnectionError as exc:
        return exc
    raise AssertionError("nothing should listen on a free port")


@pytest.mark.parametrize(
    ("path", "check"),
    [
        ("/api/v1/reports/", lambda body: json.loads(body)["error"]["code"] == "unavailable"),
        ("/open311/v2/requests.json", lambda body: json.loads(body)[0]["code"] == 503),
        (
            "/open311/v2/requests.xml",
            lambda body: ElementTree.fromstring(body).findtext("error/code") == "503",  # noqa: S314 (ours)
        ),
        ("/reports/new/", lambda body: b"Try again" in body),
    ],
)
def test_an_escaping_redis_error_is_a_503_with_retry_after(path, check):
    middleware = ServiceUnavailableMiddleware(lambda request: None)

    response = middleware.process_exception(RequestFactory().post(path), _refused())

    assert response is not None and response.status_code == 503
    assert int(response["Retry-After"]) > 0 and check(response.content)


def test_other_errors_are_left_alone():
    middleware = ServiceUnavailableMiddleware(lambda request: None)

    assert middleware.process_exception(RequestFactory().get("/"), ValueError("bug")) is None


def test_a_broker_out_of_reach_is_reported_once_and_not_asked_again_for_a_while(caplog):
    with tasks_sent_to(f"redis://127.0.0.1:{free_port()}/0"):
        first = broker.publish(follow_up_filed_reports)
        started = time.monotonic()
        second = broker.publish(follow_up_filed_reports)

    assert first is False and second is False and time.monotonic() - started < 0.05
    assert caplog.text.count("Celery broker out of reach") == 1
