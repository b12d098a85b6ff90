"""Search and reverse look-up of the local gazetteer (authorities.geocoding), on whichever database
the run uses: accents and case, prefixes, typos, best first, the served area, nearest points."""

from __future__ import annotations

from typing import Any

import pytest

from authorities.geocoding import geocode, reverse_geocode
from authorities.geocoding.files import AddressRow, PlaceRow
from authorities.geocoding.services import gazetteer_import
from authorities.geocoding.text import normalise, number_key
from tests import factories

SAGRADA = (41.40363, 2.17436)
PARK = {  # a square park of about 220 x 170 m in the Eixample
    "type": "Polygon",
    "coordinates": [[[2.160, 41.390], [2.162, 41.390], [2.162, 41.392], [2.160, 41.392],
                     [2.160, 41.390]]],
}  # fmt: skip


def _address(street: str, number: str, lat: float, lon: float, **extra: Any) -> AddressRow:
    return AddressRow("test", street, number, lat, lon, city="Barcelona", **extra)


@pytest.fixture
def gazetteer(barcelona: Any) -> Any:
    rows: list[Any] = [
        _address("Carrer de Mallorca", "401", 41.40325, 2.17487, postcode="08013"),
        _address("Carrer de Mallorca", "403", 41.40335, 2.17500, postcode="08013"),
        _address("Carrer de Mallorca", "40", 41.3870, 2.1520, postcode="08029"),
        _address("Carrer de Mallorca", "140", 41.3890, 2.1560, postcode="08036"),
        _address("Passatge de Mallorca", "2", 41.3990, 2.1700, postcode="08013"),
        _address("Avinguda del Paral·lel", "100", 41.3745, 2.1640, postcode="08004"),
        _address("Passeig de Gràcia", "43", 41.39165, 2.16490, postcode="08007"),
        _address("Carrer de l'Àngel", "3", 41.3850, 2.1740, postcode="08002"),
        # L'Hospitalet de Llobregat: outside Barcelona's boundary.
        AddressRow("test", "Rambla de la Marina", "300", 41.3605, 2.1133, city="L'Hospitalet"),
        PlaceRow(
            "test",
            "Sagrada Família",
            {"type": "Point", "coordinates": [2.17436, 41.40363]},
            "landmark",
            ("Basílica de la Sagrada Família",),
        ),
        PlaceRow(
            "test", "Park Güell", {"type": "Point", "coordinates": [2.1527, 41.41449]}, "park"
        ),
        PlaceRow("test", "Jardins del Quadrat", PARK, "park"),
    ]
    gazetteer_import(rows=rows, source="test")
    return barcelona


def _labels(text: str, **kwargs: Any) -> list[tuple[str, str]]:
    return [(hit.label, hit.kind) for hit in geocode(text, **kwargs).results]


def test_normalised_text_drops_accents_case_and_joins_the_catalan_middle_dot():
    assert normalise("Plaça de l'Àngel") == "placa de l angel"
    assert normalise("Avinguda del PARAL·LEL") == "avinguda del parallel"
    assert normalise("Straße Øster Łódź  Æbelø") == "strasse oster lodz aebelo"
    assert number_key("12 B") == "12b"
    assert number_key("20-26") == "20-26"


@pytest.mark.parametrize("asked", ["sagrada familia", "SAGRADA FAMÍLIA", "Sagrada  Família!"])
def test_accents_and_case_do_not_matter(gazetteer, asked):
    assert _labels(asked)[0] == ("Sagrada Família", "place")


def test_an_alternative_name_finds_the_place(gazetteer):
    assert _labels("basilica")[0] == ("Sagrada Família", "place")


def test_street_and_number_find_the_address_first_then_its_street(gazetteer):
    found = geocode("carrer mallorca 401").results

    assert (found[0].label, found[0].kind) == ("Carrer de Mallorca 401, 08013 Barcelona", "address")
    assert (found[0].latitude, found[0].longitude) == (41.40325, 2.17487)
    assert ("Carrer de Mallorca, Barcelona", "street") in [(h.label, h.kind) for h in found]


@pytest.mark.parametrize("asked", ["mallroca 401", "carrer malorca 401", "carer de mallorca 401"])
def test_a_typo_still_finds_the_address(gazetteer, asked):
    assert _labels(asked)[0] == ("Carrer de Mallorca 401, 08013 Barcelona", "address")


def test_a_misspelt_place_is_found(gazetteer):
    assert _labels("sagrda familia")[0] == ("Sagrada Família", "place")
    assert _labels("park guel")[0] == ("Park Güell", "place")


def test_a_half_typed_name_is_found_as_a_prefix(gazetteer):
    assert _labels("carrer de mallo")[0] == ("Carrer de Mallorca, Barcelona", "street")
    assert ("Park Güell", "place") in _labels("park gu")


def test_a_half_typed_number_lists_the_numbers_it_begins_exact_first(gazetteer):
    addresses = [label for label, kind in _labels("mallorca 40") if kind == "address"]

    assert addresses[0] == "Carrer de Mallorca 40, 08029 Barcelona"
    assert set(addresses[1:]) == {
        "Carrer de Mallorca 401, 08013 Barcelona",
        "Carrer de Mallorca 403, 08013 Barcelona",
    }


def test_a_postcode_alone_is_an_area_and_narrows_an_address(gazetteer):
    postcode = geocode("08013").results[0]
    assert (postcode.label, postcode.kind) == ("08013 Barcelona", "area")
    assert postcode.latitude == pytest.approx((41.40325 + 41.40335 + 41.3990) / 3)

    assert [label for label, kind in _labels("mallorca 40 08029") if kind == "address"] == [
        "Carrer de Mallorca 40, 08029 Barcelona"
    ]


def test_the_middle_dot_and_apostrophes_do_not_get_in_the_way(gazetteer):
    assert _labels("parallel 100")[0] == ("Avinguda del Paral·lel 100, 08004 Barcelona", "address")
    assert _labels("angel 3")[0] == ("Carrer de l'Àngel 3, 08002 Barcelona", "address")


def test_authorities_and_neighbourhoods_are_areas(gazetteer):
    factories.area("la Dreta de l'Eixample", factories.square(2.16, 41.39, 0.01))

    found = _labels("eixample")

    assert found[0] == ("Eixample", "area")
    assert ("la Dreta de l'Eixample", "area") in found


def test_best_first_the_whole_name_before_a_longer_one(gazetteer):
    streets = [label for label, kind in _labels("mallorca") if kind == "street"]

    assert streets == ["Carrer de Mallorca, Barcelona", "Passatge de Mallorca, Barcelona"]


def test_the_limit_is_kept_and_nothing_matches_nonsense(gazetteer):
    assert len(geocode("mallorca", limit=1).results) == 1
    assert geocode("xyzzy qwrtp").results == []
    assert geocode("  ,;  ").results == []


def test_an_address_outside_the_served_area_says_who_does_not_cover_it(gazetteer):
    answer = geocode("rambla de la marina 300")

    assert answer.results == []
    outside = answer.outside[0]
    assert [o.hit.kind for o in answer.outside] == ["address", "street"]
    assert outside.hit.label == "Rambla de la Marina 300, L'Hospitalet"
    assert outside.authority is not None and outside.authority.slug == "barcelona"
    assert 100 < (outside.distance or 0) < 5000
    assert outside.message.startswith("Barcelona City Council does not cover this place (")
    assert "outside its area" in outside.message


def test_with_no_authority_at_all_the_answer_says_none_covers_it(db):
    gazetteer_import(rows=[_address("Carrer Sol", "1", 41.4, 2.17)], source="test")

    outside = geocode("carrer sol 1").outside[0]

    assert outside.authority is None
    assert outside.message == "No authority on this site covers this place."


def test_reverse_finds_the_nearest_address_with_its_distance(gazetteer):
    found = reverse_geocode(41.40330, 2.17490)

    assert found is not None
    assert (found.hit.label, found.hit.kind) == (
        "Carrer de Mallorca 401, 08013 Barcelona",
        "address",
    )
    assert found.distance == pytest.approx(5.9, abs=0.5)


def test_reverse_inside_a_park_polygon_is_the_park_at_0_metres(gazetteer):
    found = reverse_geocode(41.3905, 2.1605)

    assert found is not None and (found.hit.label, found.distance) == ("Jardins del Quadrat", 0.0)


def test_reverse_measures_to_a_polygons_edge_not_its_centre(gazetteer):
    found = reverse_geocode(41.3921, 2.1610)  # about 11 m north of the park

    assert found is not None and found.hit.label == "Jardins del Quadrat"
    assert found.distance == pytest.approx(11.1, abs=1)


def test_reverse_far_from_everything_falls_back_to_the_covering_area(gazetteer):
    found = reverse_geocode(41.45, 2.19)  # Nou Barris / Sant Andreu, no address known near

    assert found is not None and found.hit.kind == "area" and found.distance == 0
    assert found.hit.label in {"Nou Barris", "Sant Andreu"}


def test_reverse_outside_everything_is_none(gazetteer):
    assert reverse_geocode(10.0, 10.0) is None


def test_reverse_uses_the_bounding_box_index_and_a_fixed_number_of_queries(
    gazetteer, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):  # the address and the place of the first box
        reverse_geocode(*SAGRADA)


def test_a_street_imported_after_a_table_rebuild_is_found_once_migrate_has_run(gazetteer):
    from django.apps import apps
    from django.db import connection

    from authorities.geocoding.local import repair_sqlite_search

    if connection.vendor == "sqlite":
        # A table rebuild drops SQLite's search triggers: the index misses new streets until
        # migrate's post_migrate hook puts them back. PostgreSQL keeps its index itself.
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER authorities_street_fts_ins")
    gazetteer_import(rows=[_address("Carrer Nou de Trinca", "1", 41.39, 2.17)], source="test")
    if connection.vendor == "sqlite":
        assert not _labels("trinca")  # the index missed the new street

    repair_sqlite_search(apps.get_app_config("authorities"))  # does nothing on PostgreSQL

    assert _labels("trinca")[0] == ("Carrer Nou de Trinca, Barcelona", "street")
