"""GET /api/v1/geocode and /api/v1/geocode/reverse: the contract the home and filing pages build
on, answered from the Barcelona demo as `make run` loads it."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from authorities import routing
from authorities.geocoding.files import AddressRow
from authorities.geocoding.services import gazetteer_import
from reports.demo import DATA_DIR, _load_authorities, _load_gazetteer, _load_neighbourhoods

RESULT_KEYS = {"label", "latitude", "longitude", "kind"}


@pytest.fixture
def demo(db: None) -> APIClient:
    """The demo's boundaries, neighbourhoods and gazetteer (what search reads), as load_demo
    loads them; test_the_demo_finds_... runs load_demo itself."""
    city, _districts = _load_authorities(lambda _: None)
    _load_neighbourhoods(city)
    _load_gazetteer()
    return APIClient()


def _get(api: APIClient, url: str, **params: Any) -> Any:
    return api.get(url, params)


def test_search_answers_results_best_first_in_the_documented_shape(demo):
    response = _get(demo, "/api/v1/geocode", q="sagrada familia")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "outside"}
    assert all(set(result) == RESULT_KEYS for result in body["results"])
    assert body["results"][0] == {
        "label": "Sagrada Família",
        "latitude": 41.40363,
        "longitude": 2.17436,
        "kind": "place",
    }
    assert {r["kind"] for r in body["results"]} <= {"address", "street", "place", "area"}


FIRST_ANSWERS = [
    ("carrer mallorca 401", ("Carrer de Mallorca 401, 08013 Barcelona", "address")),
    ("park guell", ("Park Güell", "place")),
    ("la pedrera", ("Casa Milà", "place")),
    ("boqueria", ("Mercat de la Boqueria", "place")),
    ("camp nou", ("Camp Nou", "place")),
    ("barceloneta beach", ("Platja de la Barceloneta", "place")),
    ("castell montjuic", ("Castell de Montjuïc", "place")),
    ("hospital sant pau", ("Hospital de la Santa Creu i Sant Pau", "place")),
    ("placa catalunya", ("Plaça de Catalunya", "place")),
    ("passeig de gracia 92", ("Passeig de Gràcia 92, 08008 Barcelona", "address")),
    ("sants montjuic", ("Sants-Montjuïc", "area")),
    ("el fort pienc", ("el Fort Pienc", "area")),
]


def test_the_demo_finds_well_known_barcelona_out_of_the_box(db):
    call_command("load_demo", "--reports", "0", stdout=StringIO())
    demo, found = APIClient(), {}
    for asked, _first in FIRST_ANSWERS:
        result = _get(demo, "/api/v1/geocode", q=asked).json()["results"][0]
        found[asked] = (result["label"], result["kind"])

    assert found == dict(FIRST_ANSWERS)


def test_the_limit_is_kept_and_checked(demo):
    assert len(_get(demo, "/api/v1/geocode", q="carrer", limit=2).json()["results"]) == 2

    response = _get(demo, "/api/v1/geocode", q="carrer", limit=21)

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "limit": ["Ensure this value is less than or equal to 20."]
    }


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 201}, {"q": "a\x00b"}])
def test_a_missing_or_bad_query_is_400_in_the_error_shape(db, params):
    response = APIClient().get("/api/v1/geocode", params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "q" in response.json()["error"]["fields"]


def test_an_address_outside_the_city_is_explained_not_a_dead_end(demo):
    row = AddressRow("x", "Rambla de la Marina", "300", 41.3605, 2.1133, city="L'Hospitalet")
    gazetteer_import(rows=[row], source="test")

    body = _get(demo, "/api/v1/geocode", q="rambla marina 300").json()

    assert "Rambla de la Marina 300, L'Hospitalet" not in [r["label"] for r in body["results"]]
    outside = body["outside"][0]
    assert outside["label"] == "Rambla de la Marina 300, L'Hospitalet"
    assert outside["authority"] == {"slug": "barcelona", "name": "Ajuntament de Barcelona"}
    assert outside["message"].startswith("Ajuntament de Barcelona does not cover this place")
    assert outside["distance"] > 0


def test_reverse_answers_the_nearest_address_or_place_with_its_distance(demo):
    response = _get(demo, "/api/v1/geocode/reverse", lat=41.4036, lon=2.1744)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == RESULT_KEYS | {"distance"}
    assert (body["label"], body["kind"]) == ("Sagrada Família", "place")
    assert 0 < body["distance"] < 10


def test_reverse_far_from_any_address_names_the_neighbourhood(demo):
    body = _get(demo, "/api/v1/geocode/reverse", lat=41.4470, lon=2.1750).json()

    assert body["kind"] == "area" and body["distance"] == 0
    assert body["label"] == routing.get_index().area_at(41.4470, 2.1750).name


def test_reverse_where_nothing_is_known_is_404(demo):
    response = _get(demo, "/api/v1/geocode/reverse", lat=10, lon=10)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lat": 41.4},
        {"lat": "north", "lon": 2.1},
        {"lat": 91, "lon": 2},
        {"lat": "nan", "lon": 2},
    ],
)
def test_reverse_with_a_bad_point_is_400(db, params):
    response = APIClient().get("/api/v1/geocode/reverse", params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_every_demo_place_lies_in_the_district_its_data_names(demo):
    places = json.loads((DATA_DIR / "gazetteer" / "places.geojson").read_text())["features"]
    for place in places:
        lon, lat = place["geometry"]["coordinates"]
        district = routing.locate(lat, lon).authorities[0]
        assert district.name == place["properties"]["district"], place["properties"]["name"]


def test_the_schema_documents_both_operations_with_examples(db):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    search = schema["paths"]["/api/v1/geocode"]["get"]
    reverse = schema["paths"]["/api/v1/geocode/reverse"]["get"]
    assert {p["name"] for p in search["parameters"]} == {"q", "limit"}
    assert {p["name"] for p in reverse["parameters"]} == {"lat", "lon"}
    assert "examples" in search["responses"]["200"]["content"]["application/json"]
    assert "404" in reverse["responses"]
