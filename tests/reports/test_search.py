"""Search ignores accents and case and speaks every language: "gracia" finds Gràcia, "farola"
and "bache" find the street-lamp and pothole categories and their reports."""

from __future__ import annotations

import pytest
from django.test import Client

from authorities import services as authority_services
from reports import selectors
from reports.search import matching_categories
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamps(tiny_city):
    category = factories.CategoryFactory.create(
        slug="street-lighting",
        name="Street lighting",
        name_ca="Enllumenat públic",
        name_es="Alumbrado público",
        group="Lighting",
        description_ca="Fanals apagats o que fan pampallugues.",
        description_es="Farolas apagadas o que parpadean.",
    )
    authority_services.authority_category_set(authority=tiny_city.west, category=category)
    tiny_city.pothole.name_ca, tiny_city.pothole.name_es = "Clots", "Baches en la calzada"
    authority_services.routing_object_save(obj=tiny_city.pothole)
    return category


@pytest.fixture
def gracia(tiny_city):
    return factories.area("Gràcia", factories.square(1.0, 10.0, 0.05), tiny_city.west)


def _titles(reports) -> set[str]:
    return {r.title for r in reports}


def test_a_place_is_found_without_its_accents_and_in_any_case(tiny_city, gracia):
    for typed in ("gracia", "GRACIA", "Gràcia", "grà"):
        assert [p.name for p in selectors.search_places(typed)] == ["Gràcia"]


def test_farola_finds_the_street_lamp_category_and_its_reports_whatever_their_words(
    tiny_city, lamps
):
    lat, lon = tiny_city.WEST
    factories.report(lamps, lat, lon, title="No s'encén", description="Des de dilluns.")
    factories.report(tiny_city.pothole, lat, lon, title="Clot a la vorera", description="Fondo.")

    assert matching_categories("farola") == [lamps.pk]
    assert matching_categories("fanal") == [lamps.pk]
    assert _titles(selectors.search_reports("farola")) == {"No s'encén"}
    assert _titles(selectors.search_reports("FAROLAS")) == {"No s'encén"}
    assert _titles(selectors.search_reports("faroler")) == set()  # a prefix of no word


def test_bache_finds_the_pothole_category_and_its_reports(tiny_city, lamps):
    lat, lon = tiny_city.WEST
    factories.report(tiny_city.pothole, lat, lon, title="Forat enorme", description="Perillós.")
    factories.report(lamps, lat, lon, title="Fosc", description="Tot el carrer.")

    assert matching_categories("bache") == [tiny_city.pothole.pk]
    assert _titles(selectors.search_reports("bache")) == {"Forat enorme"}


def test_report_text_is_matched_without_accents_or_case_by_word_prefixes(tiny_city):
    lat, lon = tiny_city.WEST
    factories.report(tiny_city.pothole, lat, lon, title="Vorera trencada a la Sagrada Família")
    factories.report(tiny_city.pothole, lat, lon, title="Paperera plena", description="Plaça Nova")

    assert _titles(selectors.search_reports("sagrada familia")) == {
        "Vorera trencada a la Sagrada Família"
    }
    assert _titles(selectors.search_reports("PLACA")) == {"Paperera plena"}
    assert _titles(selectors.search_reports("trenc")) == {"Vorera trencada a la Sagrada Família"}
    assert _titles(selectors.search_reports("placa familia")) == set()  # every word must match


def test_words_combine_a_category_and_a_neighbourhood(tiny_city, lamps, gracia):
    in_gracia = (10.02, 1.02)
    factories.report(lamps, *in_gracia, title="Fanal apagat", description="Fa dies.")
    factories.report(lamps, 10.08, 1.08, title="Fanal trencat", description="Fa dies.")
    factories.report(tiny_city.pothole, *in_gracia, title="Clot", description="Fa dies.")

    assert _titles(selectors.search_reports("farola gracia")) == {"Fanal apagat"}
    assert _titles(selectors.search_reports("gracia")) == {"Fanal apagat", "Clot"}


def test_the_map_search_offers_the_category_in_the_pages_language(tiny_city, lamps, gracia):
    answer = Client().get("/search.json", {"q": "farola"}, headers={"accept-language": "ca"}).json()

    assert answer["categories"] == [{"slug": "street-lighting", "name": "Enllumenat públic"}]
    places = (
        Client()
        .get("/search.json", {"q": "gracia"}, headers={"accept-language": "es"})
        .json()["places"]
    )
    assert [(p["name"], p["kind_label"]) for p in places] == [("Gràcia", "barrio")]


def test_the_api_and_the_staff_queue_search_the_same_way(tiny_city, lamps, client):
    lat, lon = tiny_city.WEST
    factories.report(lamps, lat, lon, title="No s'encén", description="Fa dies.")

    found = client.get("/api/v1/reports/", {"q": "farola"}).json()

    assert [r["title"] for r in found["results"]] == ["No s'encén"]
    client.force_login(tiny_city.west_staff)
    queue = client.get("/staff/", {"q": "Farola"}).content.decode()
    assert "No s&#x27;encén" in queue or "No s'encén" in queue
