"""`Idempotency-Key` on the writes a client may need to send again (filing through the API and
Open311, updates, "me too"): the same key and request answer the first answer and write nothing,
the same key with another request is a 422, keys are each client's own, kept 24 hours."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.idempotency import idempotency_keys_expire
from accounts.models import ApiScope, IdempotencyKey
from accounts.services import api_client_create
from reports.models import Report, ReportUpdate, Support
from tests import factories

FILING = {
    "title": "Deep hole",
    "description": "By the bus stop",
    "category": "pothole",
    "latitude": 10.05,
    "longitude": 1.05,
}
OPEN311 = "/open311/v2/requests"


def keyed(client: APIClient, path: str, key: str, body: Any = None, **extra: Any) -> Any:
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


@pytest.fixture
def app_key(tiny_city: Any) -> str:
    citizen = factories.UserFactory.create(email="app-user@example.org")
    return api_client_create(name="City app", scope=ApiScope.WRITE, user=citizen)[1]


@pytest.fixture
def api(app_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=app_key)
    return client


def test_a_filing_sent_again_with_its_key_answers_as_the_first_and_files_once(api):
    first = keyed(api, "/api/v1/reports/", "filing-1", FILING)
    again = keyed(api, "/api/v1/reports/", "filing-1", FILING)

    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Report.objects.count() == 1 and first.json()["id"] == Report.objects.get().pk


def test_the_same_request_is_recognised_whatever_the_order_of_its_fields(api):
    keyed(api, "/api/v1/reports/", "filing-1", FILING)
    reordered = dict(reversed(list(FILING.items())))

    again = keyed(api, "/api/v1/reports/", "filing-1", reordered)

    assert again.status_code == 201 and Report.objects.count() == 1


def test_the_same_key_with_a_different_request_is_a_422_and_writes_nothing(api):
    keyed(api, "/api/v1/reports/", "filing-1", FILING)

    other = keyed(api, "/api/v1/reports/", "filing-1", {**FILING, "title": "Another hole"})
    elsewhere = keyed(api, "/api/v1/reports/?format=geojson", "filing-1", FILING)

    assert other.status_code == elsewhere.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Report.objects.count() == 1


def test_keys_are_each_clients_own(api, tiny_city):
    other_user = factories.UserFactory.create()
    other = APIClient()
    other.credentials(
        HTTP_X_API_KEY=api_client_create(name="Other", scope=ApiScope.WRITE, user=other_user)[1]
    )
    person = APIClient()
    person.force_authenticate(other_user)

    answers = [keyed(c, "/api/v1/reports/", "same-key", FILING) for c in (api, other, person)]

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["id"] for a in answers}) == 3 and Report.objects.count() == 3


def test_a_refused_request_is_not_kept_so_the_corrected_one_may_use_the_key(api):
    refused = keyed(api, "/api/v1/reports/", "filing-1", {**FILING, "latitude": 95})
    corrected = keyed(api, "/api/v1/reports/", "filing-1", FILING)

    assert refused.status_code == 400 and corrected.status_code == 201
    assert "Idempotent-Replayed" not in corrected and Report.objects.count() == 1


def test_updates_and_support_sent_again_are_added_once(api, tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    update_path = f"/api/v1/reports/{report.pk}/updates/"
    support_path = f"/api/v1/reports/{report.pk}/support/"

    updates = [keyed(api, update_path, "update-1", {"text": "Still there"}) for _ in range(2)]
    supports = [keyed(api, support_path, "support-1") for _ in range(2)]

    assert [u.status_code for u in updates] == [201, 201] and updates[0].content == updates[
        1
    ].content
    assert ReportUpdate.objects.filter(report=report).count() == 1
    assert supports[1].json() == supports[0].json() == {"added": True, "supporters": 1}
    assert Support.objects.filter(report=report).count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "no\u00e9", "tab\tkey"])
def test_a_malformed_key_is_a_400_and_nothing_is_filed(api, key):
    answer = keyed(api, "/api/v1/reports/", key, FILING)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Report.objects.exists()


def test_without_the_header_filing_costs_no_query_more(api):
    api.post("/api/v1/reports/", FILING, format="json")  # routing and the key, now known
    with CaptureQueriesContext(connection) as plain_filing:
        plain = api.post("/api/v1/reports/", FILING, format="json")

    assert plain.status_code == 201 and not IdempotencyKey.objects.exists()
    assert not any("idempotency" in q["sql"].lower() for q in plain_filing.captured_queries)


def test_a_new_key_is_not_looked_up_first_its_answer_is_kept_with_the_filing(api):
    keyed(api, "/api/v1/reports/", "warm-up", FILING)  # routing and the API key, now known
    with CaptureQueriesContext(connection) as filing:
        answer = keyed(api, "/api/v1/reports/", "filing-1", FILING)

    assert answer.status_code == 201
    keys = [q["sql"].split()[0] for q in filing.captured_queries if "idempotency" in q["sql"]]
    assert keys == ["INSERT"]
    assert IdempotencyKey.objects.get(key="filing-1").body == answer.content


def test_a_retry_answers_as_the_first_even_when_filing_again_would_be_refused(api, settings):
    first = keyed(api, "/api/v1/reports/", "filing-1", FILING)
    settings.FIXPOINT_REPORT_RATE = settings.FIXPOINT_REPORT_RATE_PER_KEY = 0
    assert keyed(api, "/api/v1/reports/", "filing-2", FILING).status_code == 429

    again = keyed(api, "/api/v1/reports/", "filing-1", FILING)

    assert again.status_code == 201 and again.content == first.content
    assert again["Idempotent-Replayed"] == "true" and Report.objects.count() == 1


def test_kept_answers_are_forgotten_after_24_hours(api):
    first = keyed(api, "/api/v1/reports/", "filing-1", FILING)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))

    later = keyed(api, "/api/v1/reports/", "filing-1", FILING)  # not replayed: a new filing
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    keyed(api, "/api/v1/reports/", "filing-2", FILING)

    assert idempotency_keys_expire() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["filing-2"]
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(days=2))
    call_command("expire_idempotency_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not IdempotencyKey.objects.exists()


def test_open311_post_requests_take_the_key_too(app_key, client: Client):
    form = {"api_key": app_key, "service_code": "pothole", "lat": "10.05", "long": "1.05",
            "description": "A hole by the bus stop."}  # fmt: skip

    first = client.post(f"{OPEN311}.json", form, HTTP_IDEMPOTENCY_KEY="o311-1")
    again = client.post(f"{OPEN311}.json", form, HTTP_IDEMPOTENCY_KEY="o311-1")
    changed = client.post(
        f"{OPEN311}.xml", {**form, "description": "Other"}, HTTP_IDEMPOTENCY_KEY="o311-1"
    )
    malformed = client.post(f"{OPEN311}.json", form, HTTP_IDEMPOTENCY_KEY="x" * 300)

    assert first.status_code == again.status_code == 200 and again.content == first.content
    assert again["Idempotent-Replayed"] == "true" and Report.objects.count() == 1
    assert changed.status_code == 422 and b"<code>422</code>" in changed.content
    assert malformed.status_code == 400 and malformed.json()[0]["code"] == 400


def test_the_header_is_documented_on_each_write_that_takes_it(api):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    keyed_operations = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }

    assert keyed_operations == {
        ("/api/v1/reports/", "post"),
        ("/api/v1/reports/{id}/updates/", "post"),
        ("/api/v1/reports/{id}/support/", "post"),
    }
    filing = schema["paths"]["/api/v1/reports/"]["post"]["responses"]
    assert "Idempotency-Key" in filing["422"]["description"]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: two requests at once, each in its own connection and transaction",
)
@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_once_file_once_and_answer_alike(app_key):
    # The key's table is locked from outside: the first request files and waits at the key's
    # insert, the second waits for the first inside its own filing (the statistics row of the
    # day). When the lock goes the first commits; the second finishes its filing, meets the
    # first's key at the unique index, rolls its report back and answers the first's answer.
    from django.db import connections

    holder = connections.create_connection("default")
    answers: list[Any] = []

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=app_key)
        try:
            answers.append(keyed(client, "/api/v1/reports/", "together", FILING))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE accounts_idempotencykey IN SHARE ROW EXCLUSIVE MODE")
            for thread in threads:
                thread.start()
            _wait_for_lock_waiters(holder, 2)
            cursor.execute("COMMIT")
    finally:
        holder.close()  # the lock goes with the connection, whatever happened
        for thread in threads:
            thread.join(timeout=30)

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].content == answers[1].content
    assert sorted(a.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert Report.objects.count() == 1 and IdempotencyKey.objects.count() == 1


def _wait_for_lock_waiters(holder: Any, count: int) -> None:
    import time

    deadline = time.monotonic() + 30
    with holder.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid) "
                "WHERE NOT granted AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.05)
    raise AssertionError(f"{count} requests were never both waiting")
