"""Contract tests of the native REST API (/api/v1/)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import ApiClient
from accounts.services import api_client_create
from reports import services
from reports.models import Notification, Report, ReportState
from tests import factories


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_locate_answers_like_the_locate_command(barcelona, api):
    data = api.get("/api/v1/locate", {"lat": 41.4036, "lon": 2.1744}).json()

    assert [a["slug"] for a in data["authorities"]] == ["eixample", "barcelona"]
    assert {c["slug"]: c["authority"]["slug"] for c in data["categories"]} == {
        "pavement": "eixample",
        "waste-collection": "barcelona",
    }


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"lat": 41.35, "lon": 2.25}, 422, "no_authority_here"),
        ({"lat": "x", "lon": 2.1}, 400, "invalid"),
        ({"lat": 95, "lon": 2.1}, 400, "invalid"),
        ({}, 400, "invalid"),
    ],
)
def test_locate_errors_have_one_shape_and_never_a_500(barcelona, api, params, status, code):
    response = api.get("/api/v1/locate", params)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_the_list_shows_only_public_reports_with_filters(tiny_city, api):
    west = factories.report(
        tiny_city.pothole, *tiny_city.WEST, title="West hole", description="by the fountain"
    )
    factories.report(tiny_city.bins, *tiny_city.EAST, title="East bin")
    factories.report(
        tiny_city.pothole,
        *tiny_city.WEST,
        title="Secret",
        reporter_name="A",
        reporter_email="a@example.org",
    )
    services.report_transition(
        report_id=west.pk, to_state=ReportState.VERIFIED, actor=tiny_city.west_staff
    )

    def titles(**params: object) -> list[str]:
        return sorted(r["title"] for r in api.get("/api/v1/reports/", params).json()["results"])

    assert titles() == ["East bin", "West hole"]
    assert titles(state="verified") == ["West hole"]
    assert titles(state="open,verified") == ["East bin", "West hole"]
    assert titles(category="bins") == ["East bin"]
    assert titles(authority="west") == ["West hole"]
    assert titles(bbox="1.0,10.0,1.1,10.1") == ["West hole"]
    assert titles(near="10.05,1.15", radius=1000) == ["East bin"]
    assert titles(q="fountain") == ["West hole"]
    assert titles(created_since="2000-01-01T00:00:00Z") == ["East bin", "West hole"]
    assert titles(created_until="2000-01-01T00:00:00Z") == []


def test_bad_filters_are_a_400_with_the_field_named(tiny_city, api):
    for params, field in (
        ({"bbox": "1,2"}, "bbox"),
        ({"near": "a,b"}, "near"),
        ({"created_since": "yesterday"}, "created_since"),
    ):
        response = api.get("/api/v1/reports/", params)
        assert response.status_code == 400, params
        assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "near must be lat,lon in degrees."),
        ("ca", "near ha de ser lat,lon en graus."),
        ("es", "near debe ser lat,lon en grados."),
    ],
)
def test_an_error_message_is_in_the_language_asked_for(tiny_city, api, language, message):
    response = api.get("/api/v1/reports/", {"near": "10.05"}, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == message


def test_a_key_refused_is_explained_in_the_language_asked_for(tiny_city, api):
    api.credentials(HTTP_X_API_KEY="fp_wrong")

    refused = api.get("/api/v1/reports/", HTTP_ACCEPT_LANGUAGE="es").json()["error"]

    assert refused == {
        "code": "authentication_failed",
        "message": "Clave de la API desconocida o inactiva.",
    }


def test_cursor_pagination_walks_every_report_once_with_fixed_queries(
    tiny_city, api, django_assert_num_queries
):
    for n in range(7):
        factories.report(tiny_city.pothole, *tiny_city.WEST, title=f"Hole {n}")
    seen: list[str] = []
    url: str | None = "/api/v1/reports/?page_size=3"
    while url:
        with django_assert_num_queries(1):
            page = api.get(url).json()
        seen += [r["ref"] for r in page["results"]]
        url = page["next"]

    assert len(seen) == 7 == len(set(seen))


def test_geojson_output_on_request(tiny_city, api):
    factories.report(tiny_city.pothole, *tiny_city.WEST)

    by_param = api.get("/api/v1/reports/", {"format": "geojson"})
    by_header = api.get("/api/v1/reports/", HTTP_ACCEPT="application/geo+json")

    for response in (by_param, by_header):
        data = response.json()
        assert response["Content-Type"].startswith("application/geo+json")
        assert data["type"] == "FeatureCollection"
        assert data["features"][0]["geometry"]["coordinates"] == [1.05, 10.05]


def test_detail_has_public_history_and_updates_but_no_internal_notes(tiny_city, api):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    services.report_transition(
        report_id=report.pk,
        to_state=ReportState.VERIFIED,
        actor=tiny_city.west_staff,
        public_note="Seen",
        internal_note="crew B",
    )
    services.report_update_add(
        report_id=report.pk, author=factories.UserFactory.create(), text="Still deep"
    )

    data = api.get(f"/api/v1/reports/{report.pk}/").json()

    assert [h["to_state"] for h in data["history"]] == ["open", "verified"]
    assert data["history"][1]["public_note"] == "Seen"
    assert "crew B" not in str(data)
    assert [u["text"] for u in data["updates"]] == ["Still deep"]
    assert data["authority"] == {"slug": "west", "name": "West"}


def test_a_token_user_files_a_report_routed_like_the_website(tiny_city, api):
    factories.UserFactory.create(email="ana@example.org", password="pw-for-tests")
    token = api.post(
        "/api/v1/auth/token/", {"username": "ana@example.org", "password": "pw-for-tests"}
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = api.post(
        "/api/v1/reports/",
        {
            "title": "Hole",
            "description": "Deep",
            "category": "pothole",
            "latitude": 10.05,
            "longitude": 1.15,
        },
        format="json",
    )

    assert response.status_code == 201
    report = Report.objects.get(pk=response.json()["id"])
    assert report.authority == tiny_city.east and report.state == ReportState.OPEN
    assert response.json()["authority"]["slug"] == "east"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"category": "pothole", "latitude": 50.0, "longitude": 1.0}, 422, "no_authority_here"),
        ({"category": "graffiti", "latitude": 10.05, "longitude": 1.05}, 400, "unknown_category"),
        (
            {"category": "pothole", "latitude": 10.05, "longitude": 1.05, "title": ""},
            400,
            "invalid",
        ),
        ({"category": "pothole", "latitude": "north", "longitude": 1.05}, 400, "invalid"),
    ],
)
def test_bad_reports_are_refused_with_a_clear_error_and_nothing_stored(
    tiny_city, api, payload, status, code
):
    api.force_authenticate(factories.UserFactory.create())

    response = api.post(
        "/api/v1/reports/", {"title": "Hole", "description": "Deep", **payload}, format="json"
    )

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Report.objects.exists()


def test_each_filing_is_validated_on_its_own_and_errors_name_their_fields(tiny_city, api):
    api.force_authenticate(factories.UserFactory.create())
    good = {"title": "Hole", "description": "Deep", "category": "pothole"}

    bad = api.post(
        "/api/v1/reports/", {**good, "title": " ", "latitude": 95, "longitude": 1.05}, format="json"
    )
    listed = api.post("/api/v1/reports/", [good], format="json")
    filed = api.post(
        "/api/v1/reports/",
        {**good, "latitude": 10.05, "longitude": 1.05, "show_name": True},
        format="json",
    )
    plain = api.post(
        "/api/v1/reports/", {**good, "latitude": 10.06, "longitude": 1.05}, format="json"
    )

    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"title", "latitude"}
    assert listed.status_code == 400 and listed.json()["error"]["code"] == "invalid"
    assert filed.status_code == 201 and plain.status_code == 201
    # Nothing of one request's input stays for the next (the validators are shared).
    assert Report.objects.get(pk=filed.json()["id"]).show_name
    assert not Report.objects.get(pk=plain.json()["id"]).show_name
    assert Report.objects.count() == 2


def test_anonymous_clients_and_read_only_keys_cannot_file(tiny_city, api):
    payload = {
        "title": "Hole",
        "description": "Deep",
        "category": "pothole",
        "latitude": 10.05,
        "longitude": 1.05,
    }
    assert api.post("/api/v1/reports/", payload, format="json").status_code in (401, 403)

    _, read_key = api_client_create(
        name="newsroom", scope="read", user=factories.UserFactory.create()
    )
    api.credentials(HTTP_X_API_KEY=read_key)
    refused = api.post("/api/v1/reports/", payload, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["message"]

    _, write_key = api_client_create(
        name="city app", scope="write", user=factories.UserFactory.create()
    )
    api.credentials(HTTP_X_API_KEY=write_key)
    assert api.post("/api/v1/reports/", payload, format="json").status_code == 201

    api.credentials(HTTP_X_API_KEY="fp_wrong")
    assert api.get("/api/v1/reports/").status_code == 401


def test_updates_and_support_through_the_api(tiny_city, api):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    api.force_authenticate(factories.UserFactory.create())

    update = api.post(
        f"/api/v1/reports/{report.pk}/updates/", {"text": "Still there"}, format="json"
    )
    first = api.post(f"/api/v1/reports/{report.pk}/support/")
    again = api.post(f"/api/v1/reports/{report.pk}/support/")

    assert update.status_code == 201 and update.json()["text"] == "Still there"
    assert first.json() == {"added": True, "supporters": 1}
    assert again.json() == {"added": False, "supporters": 1}


def test_only_staff_of_the_authority_may_transition(tiny_city, api):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    url = f"/api/v1/reports/{report.pk}/transition/"

    api.force_authenticate(tiny_city.east_staff)
    other = api.post(url, {"state": "verified"}, format="json")
    api.force_authenticate(tiny_city.west_staff)
    illegal = api.post(url, {"state": "unconfirmed"}, format="json")
    done = api.post(
        url, {"state": "verified", "public_note": "On it", "internal_note": "crew A"}, format="json"
    )

    assert other.status_code == 403 and other.json()["error"]["code"] == "not_allowed"
    assert illegal.status_code == 409 and illegal.json()["error"]["code"] == "invalid_transition"
    assert done.status_code == 200 and done.json()["state"] == "verified"
    assert report.history.last().internal_note == "crew A"


def test_categories_authorities_and_statistics(tiny_city, api):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    services.report_transition(
        report_id=report.pk, to_state=ReportState.FIXED, actor=tiny_city.west_staff
    )

    categories = api.get("/api/v1/categories/").json()
    authorities = api.get("/api/v1/authorities/", {"boundary": "1"}).json()
    stats = api.get("/api/v1/authorities/west/stats/").json()

    assert {c["slug"] for c in categories} == {"pothole", "bins"}
    assert {a["slug"] for a in authorities} == {"tiny-city", "west", "east"}
    assert authorities[0]["boundary"]["type"] == "Polygon"
    assert "boundary" not in api.get("/api/v1/authorities/").json()[0]
    assert stats["total"] == 1 and stats["by_state"]["fixed"] == 1
    assert stats["fixed_last_30_days"] == 1 and stats["median_days_to_fix"] == 0.0


def test_the_schema_and_its_documentation_page_are_served(db, api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = api.get("/api/docs/")

    assert (
        schema.status_code == 200 and "/api/v1/reports/{id}/transition/" in schema.json()["paths"]
    )
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert b"cdn" not in docs.content.lower()


def test_too_many_requests_get_429_with_retry_after(db, api, monkeypatch):
    from accounts.api_auth import VisitorRateThrottle

    monkeypatch.setattr(VisitorRateThrottle, "THROTTLE_RATES", {"anon": "2/min"})
    codes = [api.get("/api/v1/categories/").status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    response = api.get("/api/v1/categories/")
    assert int(response["Retry-After"]) > 0 and response.json()["error"]["code"] == "throttled"


def test_unknown_api_addresses_answer_json_and_pages_keep_html(db, api, client):
    response = api.get("/api/v1/reports/1.5/")
    page = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_the_token_endpoint_is_throttled_against_password_guessing(db, api, monkeypatch):
    from accounts.api_auth import VisitorRateThrottle

    monkeypatch.setattr(VisitorRateThrottle, "THROTTLE_RATES", {"anon": "2/min"})
    codes = [
        api.post(
            "/api/v1/auth/token/", {"username": "x@example.org", "password": "guess"}
        ).status_code
        for _ in range(3)
    ]

    assert codes == [400, 400, 429]


def test_a_list_of_reports_never_loads_authority_boundaries(
    tiny_city, api, django_assert_num_queries
):
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        api.get("/api/v1/reports/")
        api.get(f"/api/v1/reports/{Report.objects.get().pk}/")

    assert not any("boundary" in q["sql"] for q in queries.captured_queries)


def test_staff_assign_and_prioritise_through_the_api_and_others_cannot(tiny_city, api):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    colleague = factories.staff(tiny_city.west)
    base = f"/api/v1/reports/{report.pk}"

    api.force_authenticate(tiny_city.east_staff)
    refused = api.post(f"{base}/priority/", {"priority": "urgent"}, format="json")
    api.force_authenticate(tiny_city.west_staff)
    assigned = api.post(f"{base}/assign/", {"assignee": colleague.email}, format="json")
    unknown = api.post(f"{base}/assign/", {"assignee": "nobody@example.org"}, format="json")
    outsider = api.post(f"{base}/assign/", {"assignee": tiny_city.east_staff.email}, format="json")
    urgent = api.post(f"{base}/priority/", {"priority": "urgent"}, format="json")

    assert refused.status_code == 403
    assert assigned.status_code == 200 and unknown.status_code == 400
    assert outsider.status_code == 403
    assert urgent.status_code == 200 and urgent.json()["priority"] == "urgent"
    report.refresh_from_db()
    assert report.assignee == colleague and report.priority == "urgent"


def test_staff_reroute_a_report_to_the_authority_now_responsible(tiny_city, api):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    url = f"/api/v1/reports/{report.pk}/reroute/"

    api.force_authenticate(tiny_city.east_staff)
    refused = api.post(url, {"latitude": 10.05, "longitude": 1.15}, format="json")
    api.force_authenticate(tiny_city.west_staff)
    half = api.post(url, {"latitude": 10.05}, format="json")
    outside = api.post(url, {"latitude": 50.0, "longitude": 1.0}, format="json")
    moved = api.post(url, {"latitude": 10.05, "longitude": 1.15}, format="json")

    assert refused.status_code == 403 and half.status_code == 400
    assert outside.status_code == 422
    assert moved.status_code == 200 and moved.json()["authority"]["slug"] == "east"
    report.refresh_from_db()
    assert report.authority == tiny_city.east
    assert report.deliveries.filter(authority=tiny_city.east).exists()


def test_a_throttled_visitor_may_ask_again_in_the_next_window(db, api, monkeypatch):
    from accounts.api_auth import VisitorRateThrottle

    clock = [1_000_000.0]
    monkeypatch.setattr(VisitorRateThrottle, "THROTTLE_RATES", {"anon": "2/min"})
    monkeypatch.setattr(VisitorRateThrottle, "timer", lambda self: clock[0])
    first = [api.get("/api/v1/categories/").status_code for _ in range(3)]
    refused = api.get("/api/v1/categories/")
    clock[0] += int(refused["Retry-After"])
    again = [api.get("/api/v1/categories/").status_code for _ in range(3)]

    assert first == [200, 200, 429] and again == [200, 200, 429]


def test_routing_data_edited_between_filings_is_followed_by_the_next_one(tiny_city, api):
    """Filing reads the category, its questions and the destination from the routing index: a
    question added, or a category switched off, applies from the next request on."""
    from authorities import services as authority_services
    from authorities.models import CategoryQuestion

    api.force_authenticate(factories.UserFactory.create())
    payload = {"title": "Hole", "description": "Deep", "latitude": 10.05, "longitude": 1.05}
    first = api.post("/api/v1/reports/", {**payload, "category": "pothole"}, format="json")
    assert first.status_code == 201

    CategoryQuestion.objects.create(
        category=tiny_city.pothole, code="depth", label="How deep?", required=True
    )
    asked = api.post("/api/v1/reports/", {**payload, "category": "pothole"}, format="json")
    assert asked.status_code == 400 and "How deep?" in asked.json()["error"]["message"]
    answered = api.post(
        "/api/v1/reports/",
        {**payload, "category": "pothole", "extra": {"depth": "knee"}},
        format="json",
    )
    assert answered.status_code == 201 and answered.json()["extra"] == {"depth": "knee"}

    tiny_city.pothole.is_active = False
    authority_services.routing_object_save(obj=tiny_city.pothole)
    gone = api.post("/api/v1/reports/", {**payload, "category": "pothole"}, format="json")
    assert gone.status_code == 400 and gone.json()["error"]["code"] == "unknown_category"
    assert Report.objects.count() == 2


def test_an_api_key_switched_off_is_refused_at_once(tiny_city, api):
    client, key = api_client_create(
        name="city app", scope="write", user=factories.UserFactory.create()
    )
    payload = {"title": "Hole", "description": "Deep", "category": "pothole"}
    payload |= {"latitude": 10.05, "longitude": 1.05}
    api.credentials(HTTP_X_API_KEY=key)
    assert api.post("/api/v1/reports/", payload, format="json").status_code == 201

    client.is_active = False
    client.save()
    assert api.post("/api/v1/reports/", payload, format="json").status_code == 401
    assert Report.objects.count() == 1


def test_a_key_revoked_in_another_process_stops_working_within_a_second(
    tiny_city, api, monkeypatch
):
    from accounts import services as account_services

    now = [500.0]
    monkeypatch.setattr(account_services, "monotonic", lambda: now[0])
    client, key = api_client_create(name="city app", scope="read")
    api.credentials(HTTP_X_API_KEY=key)
    assert api.get("/api/v1/categories/").status_code == 200  # looked up, and its use stamped
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/categories/").status_code == 200
    assert not any("accounts_apiclient" in q["sql"] for q in queries.captured_queries)

    ApiClient.objects.filter(pk=client.pk).update(is_active=False)  # as another process would
    now[0] += 0.9
    assert api.get("/api/v1/categories/").status_code == 200
    now[0] += 0.1

    assert api.get("/api/v1/categories/").status_code == 401


def test_a_user_deactivated_here_takes_their_keys_down_at_once(tiny_city, api):
    user = factories.UserFactory.create()
    _, key = api_client_create(name="city app", scope="read", user=user)
    api.credentials(HTTP_X_API_KEY=key)
    assert api.get("/api/v1/categories/").status_code == 200

    user.is_active = False
    user.save()

    refused = api.get("/api/v1/categories/")
    assert refused.status_code == 401 and "inactive" in refused.json()["error"]["message"]


def test_a_key_acting_for_a_user_is_held_to_the_keys_and_the_accounts_rate(db, api, monkeypatch):
    from accounts.api_auth import AccountRateThrottle, ClientRateThrottle

    monkeypatch.setattr(AccountRateThrottle, "THROTTLE_RATES", {"user": "3/min"})
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "2/min"})
    user = factories.UserFactory.create()
    _, first_key = api_client_create(name="app one", scope="read", user=user)
    _, second_key = api_client_create(name="app two", scope="read", user=user)

    api.credentials(HTTP_X_API_KEY=first_key)
    by_first = [api.get("/api/v1/categories/").status_code for _ in range(3)]
    api.credentials(HTTP_X_API_KEY=second_key)
    by_second = [api.get("/api/v1/categories/").status_code for _ in range(2)]

    assert by_first == [200, 200, 429]  # the key's rate; the refused request still counts
    assert by_second == [429, 429]  # the account's 3 are spent, whichever key asks


def test_a_key_that_files_for_citizens_files_for_the_citizen_the_request_names(tiny_city, api):
    app_account = factories.UserFactory.create(email="app@citizens.example.org")
    _, key = api_client_create(
        name="Citizens' app", scope="write", user=app_account, files_for_citizens=True
    )
    _, own = api_client_create(name="Council CRM", scope="write", user=tiny_city.west_staff)
    payload = {"title": "Hole", "description": "Deep", "category": "pothole"}
    payload |= {"latitude": 10.05, "longitude": 1.05}
    citizen = {"email": "Ann@Example.org", "first_name": "Ann", "last_name": "Lee"}

    filed = api.post("/api/v1/reports/", payload | citizen, format="json", HTTP_X_API_KEY=key)
    nobody = api.post("/api/v1/reports/", payload, format="json", HTTP_X_API_KEY=key)
    as_itself = api.post("/api/v1/reports/", payload, format="json", HTTP_X_API_KEY=own)

    assert filed.status_code == 201 and filed.json()["state"] == "unconfirmed"
    report = Report.objects.get(pk=filed.json()["id"])
    assert (report.reporter, report.reporter_name, report.reporter_email) == (
        None,
        "Ann Lee",
        "ann@example.org",
    )
    assert report.history.get().actor == app_account
    assert Notification.objects.get(report=report).to_email == "ann@example.org"
    assert nobody.status_code == 400 and "citizen's email" in nobody.json()["error"]["message"]
    assert as_itself.status_code == 201 and as_itself.json()["state"] == "open"
    assert Report.objects.get(pk=as_itself.json()["id"]).reporter == tiny_city.west_staff
