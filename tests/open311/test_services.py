from __future__ import annotations

import pytest
from django.test import Client

from authorities.models import CategoryQuestion
from tests import factories
from tests.conftest import TinyCity

from .conftest import Keys
from .helpers import assert_xml_matches, valid_json, xml_root

pytestmark = pytest.mark.django_db


@pytest.fixture
def questions(tiny_city: TinyCity) -> None:
    CategoryQuestion.objects.create(
        category=tiny_city.pothole, code="depth", label="How deep?", datatype="number", order=2
    )
    CategoryQuestion.objects.create(
        category=tiny_city.pothole,
        code="where",
        label="Where on the road?",
        help_text="Pick one",
        datatype="singlevaluelist",
        required=True,
        values=[{"key": "lane", "name": "In a lane"}, {"key": "kerb", "name": "By the kerb"}],
        order=1,
    )


def test_discovery_lists_this_endpoint_in_both_formats(client: Client, tiny_city: TinyCity) -> None:
    data = valid_json(client.get("/open311/v2/discovery.json"), "discovery")
    endpoint = data["endpoints"][0]
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = xml_root(client.get("/open311/v2/discovery.xml"), "discovery")
    assert_xml_matches(root, data)


def test_services_lists_every_handled_category_with_metadata_flag(
    client: Client, tiny_city: TinyCity, questions: None
) -> None:
    factories.CategoryFactory.create(slug="orphan", name="Handled by nobody")
    data = valid_json(client.get("/open311/v2/services.json"), "services")
    assert [(s["service_code"], s["metadata"]) for s in data] == [
        ("pothole", True),
        ("bins", False),
    ]
    assert data[0] == {
        "service_code": "pothole",
        "service_name": "Pothole",
        "description": "",
        "metadata": True,
        "type": "realtime",
        "keywords": None,
        "group": "Roads",
    }
    root = xml_root(client.get("/open311/v2/services.xml"), "services")
    assert [e.tag for e in root] == ["service", "service"]
    for element, expected in zip(root, data, strict=True):
        assert_xml_matches(element, expected)


def test_services_for_a_point_lists_only_what_is_offered_there(
    client: Client, tiny_city: TinyCity
) -> None:
    outside_districts = "/open311/v2/services.json?lat=10.15&long=1.05"  # city only
    data = valid_json(client.get(outside_districts), "services")
    assert [s["service_code"] for s in data] == ["bins"]
    data = valid_json(client.get("/open311/v2/services.json?lat=10.05&long=1.05"), "services")
    assert [s["service_code"] for s in data] == ["pothole", "bins"]


def test_services_outside_every_authority_is_an_empty_list(
    client: Client, tiny_city: TinyCity
) -> None:
    assert valid_json(client.get("/open311/v2/services.json?lat=50&long=50"), "services") == []


def test_services_with_only_one_coordinate_is_400(client: Client, tiny_city: TinyCity) -> None:
    data = valid_json(client.get("/open311/v2/services.json?lat=10.05"), "errors", 400)
    assert data == [{"code": 400, "description": "lat and long go together: give both or neither."}]


def test_services_with_a_latitude_out_of_range_is_400(client: Client, tiny_city: TinyCity) -> None:
    data = valid_json(client.get("/open311/v2/services.json?lat=91&long=1"), "errors", 400)
    assert data[0]["description"] == "lat must be a number from -90 to 90."


def test_services_with_empty_lat_and_long_means_no_point(
    client: Client, tiny_city: TinyCity
) -> None:
    data = valid_json(client.get("/open311/v2/services.json?lat=&long="), "services")
    assert len(data) == 2


def test_service_definition_gives_questions_as_attributes_in_order(
    client: Client, tiny_city: TinyCity, questions: None
) -> None:
    data = valid_json(client.get("/open311/v2/services/pothole.json"), "service-definition")
    assert data["service_code"] == "pothole"
    assert data["attributes"] == [
        {
            "variable": True,
            "code": "where",
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": "Pick one",
            "order": 1,
            "description": "Where on the road?",
            "values": [
                {"key": "lane", "name": "In a lane"},
                {"key": "kerb", "name": "By the kerb"},
            ],
        },
        {
            "variable": True,
            "code": "depth",
            "datatype": "number",
            "required": False,
            "datatype_description": None,
            "order": 2,
            "description": "How deep?",
            "values": [],
        },
    ]
    root = xml_root(client.get("/open311/v2/services/pothole.xml"), "service_definition")
    assert_xml_matches(root, data)


def test_singular_service_path_is_an_alias_for_older_clients(
    client: Client, tiny_city: TinyCity, questions: None
) -> None:
    plural = client.get("/open311/v2/services/pothole.xml")
    singular = client.get("/open311/v2/service/pothole.xml")
    assert singular.status_code == 200
    assert singular.content == plural.content


def test_unknown_service_definition_is_404_in_the_format_asked(
    client: Client, tiny_city: TinyCity
) -> None:
    data = valid_json(client.get("/open311/v2/services/nope.json"), "errors", 404)
    assert data == [{"code": 404, "description": "There is no service 'nope'."}]
    root = xml_root(client.get("/open311/v2/services/nope.xml"), "errors", 404)
    assert_xml_matches(root[0], data[0])


def test_service_list_costs_a_fixed_number_of_queries(
    client: Client, tiny_city: TinyCity, questions: None, django_assert_num_queries: object
) -> None:
    for n in range(5):
        factories.authority(
            f"Agency {n}",
            factories.square(1.0, 10.0, 0.2),
            categories=[factories.CategoryFactory.create()],
        )
    with django_assert_num_queries(1):  # type: ignore[operator]
        client.get("/open311/v2/services.json")


def test_right_jurisdiction_is_accepted_and_empty_means_absent(
    client: Client, tiny_city: TinyCity
) -> None:
    for value in ("fixpoint", "testserver", ""):
        response = client.get(f"/open311/v2/services.json?jurisdiction_id={value}")
        valid_json(response, "services")


def test_unknown_jurisdiction_is_404(client: Client, tiny_city: TinyCity) -> None:
    response = client.get("/open311/v2/services.xml?jurisdiction_id=elsewhere.example.org")
    root = xml_root(response, "errors", 404)
    assert root[0].findtext("code") == "404"
    assert "jurisdiction_id 'elsewhere.example.org' is unknown" in (
        root[0].findtext("description") or ""
    )


def test_a_method_the_endpoint_does_not_take_is_405_in_the_error_format(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    response = client.post("/open311/v2/services.json", {"api_key": keys.write})
    data = valid_json(response, "errors", 405)
    assert data[0]["description"] == "POST is not allowed here: use GET."
    assert response["Allow"] == "GET"


def test_every_write_needs_a_write_key_before_anything_else(
    client: Client, tiny_city: TinyCity, keys: Keys
) -> None:
    for method in (client.post, client.put, client.patch, client.delete):
        [error] = valid_json(method("/open311/v2/services.json"), "errors", 403)
        assert error["description"].startswith("api_key is missing")


def test_an_unknown_format_is_404(client: Client, tiny_city: TinyCity) -> None:
    assert client.get("/open311/v2/services.csv").status_code == 404
