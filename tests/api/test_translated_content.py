"""Content written per language (django-modeltranslation) reaches every surface in the language
asked for: the API and Open311 by Accept-Language, English by default and as the fallback."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from authorities import services as authority_services
from authorities.models import CategoryQuestion, option_name

pytestmark = pytest.mark.django_db


@pytest.fixture
def translated(tiny_city):
    pothole = tiny_city.pothole
    pothole.name_ca, pothole.name_es = "Clots", "Baches"
    pothole.group_ca, pothole.group_es = "Vies públiques", "Vías públicas"
    authority_services.routing_object_save(obj=pothole)
    CategoryQuestion.objects.create(
        category=pothole,
        code="size",
        label_en="How big is it?",
        label_ca="Com és de gran?",
        datatype="singlevaluelist",
        values=[{"key": "small", "name": "Small", "name_ca": "Petit", "name_es": "Pequeño"}],
    )
    return pothole


def _category(answer: list[dict], slug: str) -> dict:
    return next(c for c in answer if c["slug"] == slug)


@pytest.mark.parametrize(
    ("language", "name", "group"),
    [
        ("ca", "Clots", "Vies públiques"),
        ("es", "Baches", "Vías públicas"),
        ("en", "Pothole", "Roads"),
    ],
)
def test_the_api_names_categories_in_the_requested_language(translated, language, name, group):
    answer = Client().get("/api/v1/categories/", headers={"accept-language": language}).json()
    rows = answer["results"] if isinstance(answer, dict) else answer

    found = _category(rows, "pothole")
    assert (found["name"], found["group"]) == (name, group)


def test_open311_describes_services_and_attributes_in_the_requested_language(translated):
    services = Client().get("/open311/v2/services.json", headers={"accept-language": "ca"}).json()
    definition = (
        Client().get("/open311/v2/services/pothole.json", headers={"accept-language": "ca"}).json()
    )

    assert (
        _category([{"slug": s["service_code"], **s} for s in services], "pothole")["service_name"]
        == "Clots"
    )
    attribute = definition["attributes"][0]
    assert attribute["description"] == "Com és de gran?"
    assert attribute["values"] == [{"key": "small", "name": "Petit"}]


def test_an_empty_translation_falls_back_to_english(translated):
    with translation.override("es"):
        question = CategoryQuestion.objects.get(code="size")
        assert question.label == "How big is it?"  # no Spanish label was written
        assert option_name(question.values[0]) == "Pequeño"


def test_the_filing_form_offers_categories_and_options_in_the_pages_language(translated, client):
    lat, lon = translated.pk and (10.05, 1.05)
    page = client.get(
        "/reports/new/",
        {"latitude": lat, "longitude": lon},
        headers={"accept-language": "ca"},
    ).content.decode()

    assert ">Clots</option>" in page
    assert 'label="Vies públiques"' in page
    assert "Com és de gran?" in page and ">Petit<" in page


def test_an_api_error_meant_for_people_is_in_the_requested_language(tiny_city):
    answer = Client().get(
        "/api/v1/locate", {"lat": 50.0, "lon": 5.0}, headers={"accept-language": "es"}
    )

    assert answer.status_code == 422
    assert "Ninguna administración cubre esta ubicación" in answer.content.decode()
