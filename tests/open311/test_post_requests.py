from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import ApiClient
from accounts.services import api_client_create
from authorities.models import CategoryQuestion
from reports.models import Delivery, Notification, Report
from reports.services import report_confirm, report_transition
from tests import factories
from tests.conftest import TinyCity

from .conftest import Keys
from .helpers import assert_xml_matches, valid_json, xml_root

pytestmark = pytest.mark.django_db
URL = "/open311/v2/requests.json"


def form(keys: Keys, **fields: Any) -> dict[str, Any]:
    return {
        "api_key": keys.write,
        "service_code": "pothole",
        "lat": "10.05",
        "long": "1.05",
        "description": "A deep hole by the bus stop.\nCars swerve round it.",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "Ann@Example.org",
        "phone": "+34 600 000 000",
        **fields,
    }


def test_a_write_key_files_an_open_routed_report_as_its_user(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    [row] = valid_json(client.post(URL, form(keys)), "post-response")
    report = Report.objects.get(ref=row["service_request_id"])
    assert row == {
        "service_request_id": report.ref,
        "service_notice": "Sent to West.",
    }
    assert (report.state, report.authority, report.reporter) == (
        "open",
        tiny_city.west,
        keys.write_user,
    )
    assert (report.reporter_name, report.reporter_email, report.show_name) == (
        "Ann Lee",
        "ann@example.org",
        False,
    )
    assert report.title == "A deep hole by the bus stop."
    assert report.history.get().to_state == "open"
    listed = valid_json(client.get(f"/open311/v2/requests/{report.ref}.json"), "requests")
    assert listed[0]["status"] == "open"


def test_post_answers_in_xml_too(client: Client, tiny_city: TinyCity, keys: Keys) -> None:
    response = client.post("/open311/v2/requests.xml", form(keys, title="Hole"))
    root = xml_root(response, "service_requests")
    report = Report.objects.get()
    assert report.title == "Hole"
    expected = {
        "service_request_id": report.ref,
        "service_notice": "Sent to West.",
    }
    assert_xml_matches(root[0], expected)


def test_api_key_and_jurisdiction_may_come_in_the_query_string(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    fields = form(keys)
    del fields["api_key"]
    response = client.post(f"{URL}?api_key={keys.write}&jurisdiction_id=fixpoint", fields)
    valid_json(response, "post-response")


def test_attributes_are_validated_and_kept_as_answers(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    CategoryQuestion.objects.create(
        category=tiny_city.pothole, code="depth", label="How deep?", datatype="number"
    )
    CategoryQuestion.objects.create(
        category=tiny_city.pothole,
        code="hazards",
        label="Hazards",
        datatype="multivaluelist",
        values=[{"key": "water", "name": "Water"}, {"key": "glass", "name": "Glass"}],
    )
    fields = form(keys, **{"attribute[depth]": "12", "attribute[hazards][]": ["water", "glass"]})
    [row] = valid_json(client.post(URL, fields), "post-response")
    report = Report.objects.get(ref=row["service_request_id"])
    assert report.extra == {"depth": 12, "hazards": ["water", "glass"]}
    [error] = valid_json(
        client.post(URL, form(keys, **{"attribute[depth]": "deep"})), "errors", 400
    )
    assert error["description"] == "attribute: How deep?: expected a number."


def test_a_required_attribute_left_out_is_400(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    CategoryQuestion.objects.create(
        category=tiny_city.pothole,
        code="depth",
        label="How deep?",
        datatype="number",
        required=True,
    )
    [error] = valid_json(client.post(URL, form(keys)), "errors", 400)
    assert error["description"] == "attribute: How deep?: an answer is required."


@pytest.mark.parametrize(
    ("fields", "description"),
    [
        ({"service_code": ""}, "service_code is required."),
        ({"service_code": "nope"}, "service_code 'nope' is not a service of this server."),
        ({"lat": "", "long": ""}, "lat and long are required."),
        (
            {"lat": "", "long": "", "address_string": "1 Main St"},
            "lat and long are required: this server cannot locate an address_string.",
        ),
        ({"lat": "north"}, "lat must be a number, not 'north'."),
        ({"long": ""}, "lat and long go together: give both or neither."),
        ({"email": "not-an-address"}, "email 'not-an-address' is not a valid e-mail address."),
        ({"description": ""}, "description: Describe the problem."),
    ],
)
def test_invalid_input_is_400_with_a_clear_description(
    client: Client, tiny_city: TinyCity, keys: Keys, fields: dict[str, str], description: str
) -> None:
    [error] = valid_json(client.post(URL, form(keys, **fields)), "errors", 400)
    assert error == {"code": 400, "description": description}
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("fields", "description"),
    [
        ({"lat": "50", "long": "50"}, "No authority covers this location (50.000000, 50.000000)."),
        ({"lat": "10.15", "long": "1.05"}, "No authority handles Pothole at this location."),
    ],
)
def test_unroutable_input_is_422_as_on_the_rest_api(
    client: Client, tiny_city: TinyCity, keys: Keys, fields: dict[str, str], description: str
) -> None:
    [error] = valid_json(client.post(URL, form(keys, **fields)), "errors", 422)
    assert error == {"code": 422, "description": description}
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("key", "description"),
    [
        ("", "api_key is missing: writing needs an API key with write scope."),
        ("fp_wrong", "Unknown or inactive API key."),
        ("read", "This API key is read-only."),
    ],
)
def test_missing_or_insufficient_api_key_is_403(
    client: Client, tiny_city: TinyCity, keys: Keys, key: str, description: str
) -> None:
    api_key = getattr(keys, key, key)
    response = client.post("/open311/v2/requests.xml", form(keys, api_key=api_key))
    root = xml_root(response, "errors", 403)
    assert root[0].findtext("code") == "403"
    assert (root[0].findtext("description") or "").startswith(description)
    assert not Report.objects.exists()


def test_an_inactive_key_is_403(client: Client, tiny_city: TinyCity, keys: Keys) -> None:
    ApiClient.objects.update(is_active=False)
    [error] = valid_json(client.post(URL, form(keys)), "errors", 403)
    assert error["description"] == "Unknown or inactive API key."


def test_unknown_jurisdiction_in_the_body_is_404(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    response = client.post(URL, form(keys, jurisdiction_id="other.example.org"))
    valid_json(response, "errors", 404)
    assert not Report.objects.exists()


def test_an_inactive_users_write_key_files_nothing_as_on_the_rest_api(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    keys.write_user.is_active = False
    keys.write_user.save()

    [error] = valid_json(client.post(URL, form(keys)), "errors", 403)
    rest = client.get("/api/v1/categories/", HTTP_X_API_KEY=keys.write)

    assert error["description"] == "This API key's user account is inactive."
    assert rest.status_code == 401
    assert rest.json()["error"]["message"] == error["description"]  # one rule, one answer
    assert not Report.objects.exists()


def test_a_key_that_files_for_citizens_files_for_the_person_named_as_on_the_website(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    app_account = factories.UserFactory.create(email="app@citizens.example.org")
    _, key = api_client_create(
        name="Citizens' app", scope="write", user=app_account, files_for_citizens=True
    )

    [row] = valid_json(client.post(URL, form(keys, api_key=key)), "post-response")

    report = Report.objects.get(ref=row["service_request_id"])
    assert row["service_notice"] == "Sent to West once ann@example.org confirms it."
    assert (report.state, report.reporter, report.reporter_name, report.reporter_email) == (
        "unconfirmed",
        None,
        "Ann Lee",
        "ann@example.org",
    )
    assert report.history.get().actor == app_account  # who filed it stays accountable
    [confirm] = Notification.objects.filter(to_email="ann@example.org")
    assert confirm.kind == "report_confirm"
    assert not Delivery.objects.exists()  # never sent before the citizen confirms

    report_confirm(report_id=report.pk)
    report_transition(report_id=report.pk, to_state="verified", actor=tiny_city.west_staff)

    assert Delivery.objects.filter(report=report).exists()
    news = Notification.objects.filter(to_email="ann@example.org").exclude(pk=confirm.pk)
    assert [n.kind for n in news] == ["report_update"]
    assert not Notification.objects.filter(to_email=app_account.email).exists()


def test_a_key_that_files_for_citizens_refuses_a_request_naming_nobody(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    _, key = api_client_create(
        name="Citizens' app", scope="write", user=keys.write_user, files_for_citizens=True
    )

    [no_email] = valid_json(client.post(URL, form(keys, api_key=key, email="")), "errors", 400)
    [no_name] = valid_json(
        client.post(URL, form(keys, api_key=key, first_name="", last_name="")), "errors", 400
    )

    assert no_email["description"].startswith("This API key files for citizens: give the")
    assert no_name["description"].startswith("first_name: Give your name")
    assert not Report.objects.exists()
