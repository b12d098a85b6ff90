"""Routing with the real Barcelona boundaries (coordinates of landmarks taken from public maps)."""

from __future__ import annotations

import pytest
import shapely
from celery.signals import task_prerun
from django.db import transaction
from django.test import Client
from django.utils import translation
from shapely.geometry import shape

from authorities import routing
from authorities import services as authority_services
from authorities.exceptions import CategoryNotOfferedHere, InvalidLocation, NoAuthorityHere
from authorities.models import Authority, Category, RoutingVersion
from tests import factories

LANDMARKS = [
    ("Sagrada Família", 41.4036, 2.1744, "eixample"),
    ("Casa Batlló", 41.3917, 2.1649, "eixample"),
    ("Barcelona Cathedral", 41.3839, 2.1762, "ciutat-vella"),
    ("La Boqueria market", 41.3817, 2.1716, "ciutat-vella"),
    ("Parc de la Ciutadella", 41.3881, 2.1873, "ciutat-vella"),
    ("Park Güell", 41.4145, 2.1527, "gracia"),
    ("Plaça del Sol", 41.4017, 2.1570, "gracia"),
    ("Camp Nou", 41.3809, 2.1228, "les-corts"),
    ("Montjuïc Castle", 41.3634, 2.1661, "sants-montjuic"),
    ("Barcelona Sants station", 41.3792, 2.1404, "sants-montjuic"),
    ("CosmoCaixa", 41.4131, 2.1313, "sarria-sant-gervasi"),
    ("Tibidabo", 41.4218, 2.1190, "sarria-sant-gervasi"),
    ("Hospital de Sant Pau", 41.4114, 2.1745, "horta-guinardo"),
    ("Parc del Laberint d'Horta", 41.4400, 2.1460, "horta-guinardo"),
    ("Plaça Major de Nou Barris", 41.4410, 2.1770, "nou-barris"),
    ("Plaça d'Orfila, Sant Andreu", 41.4355, 2.1899, "sant-andreu"),
    ("Torre Glòries", 41.4034, 2.1894, "sant-marti"),
    ("Parc del Fòrum", 41.4110, 2.2210, "sant-marti"),
]


@pytest.mark.parametrize(("place", "lat", "lon", "district"), LANDMARKS)
def test_landmark_routes_to_its_district_then_the_city(barcelona, place, lat, lon, district):
    location = routing.locate(lat, lon)

    assert [a.slug for a in location.authorities] == [district, "barcelona"], place


def test_two_tier_split_sends_pavement_to_the_district_and_waste_to_the_city(barcelona):
    lat, lon = 41.4036, 2.1744  # Sagrada Família

    location = routing.locate(lat, lon)
    offers = {o.category.slug: o.authority.slug for o in location.offers}

    assert offers == {"pavement": "eixample", "waste-collection": "barcelona"}
    assert routing.responsible_authority(lat, lon, barcelona.pavement.id).slug == "eixample"
    assert routing.responsible_authority(lat, lon, barcelona.waste.id).slug == "barcelona"


def test_the_offers_at_a_place_are_named_and_ordered_in_each_readers_language_every_time(
    barcelona,
):

    Category.objects.filter(pk=barcelona.pavement.pk).update(
        name_ca="Voreres", group_ca="Via pública", name_en="Pavement", group_en="Roads"
    )
    Category.objects.filter(pk=barcelona.waste.pk).update(
        name_ca="Escombraries", group_ca="Brossa", name_en="Waste", group_en="Waste"
    )
    routing.invalidate()
    lat, lon = 41.4036, 2.1744  # Sagrada Família

    def offered(language: str) -> list[str]:
        with translation.override(language):
            return [c["name"] for c in routing.locate(lat, lon).as_dict()["categories"]]

    # Catalan sorts by group "Brossa" < "Via pública"; English by "Roads" < "Waste".
    assert offered("ca") == ["Escombraries", "Voreres"]
    assert offered("en") == ["Pavement", "Waste"]
    assert offered("ca") == ["Escombraries", "Voreres"]  # kept per language, not shared


@pytest.mark.parametrize(
    ("place", "lat", "lon"),
    [
        ("the sea off the Barceloneta", 41.35, 2.25),
        ("L'Hospitalet de Llobregat town hall", 41.3596, 2.0997),
        ("Badalona", 41.4500, 2.2474),
    ],
)
def test_points_outside_the_city_get_a_clear_no_authority_error(barcelona, place, lat, lon):
    with pytest.raises(NoAuthorityHere) as excinfo:
        routing.locate(lat, lon)

    assert "No authority covers this location" in excinfo.value.message
    with pytest.raises(NoAuthorityHere):
        routing.responsible_authority(lat, lon, barcelona.pavement.id)


def test_coordinates_out_of_range_are_refused_not_routed(barcelona):
    with pytest.raises(InvalidLocation):
        routing.locate(91, 2.17)
    with pytest.raises(InvalidLocation):
        routing.locate(float("nan"), 2.17)


def test_point_on_a_shared_border_routes_to_the_same_district_every_time(barcelona):
    eixample = shape(barcelona.districts["eixample"].boundary)
    gracia = shape(barcelona.districts["gracia"].boundary)
    border = eixample.boundary.intersection(gracia.boundary)
    vertex = shapely.get_coordinates(border)[len(shapely.get_coordinates(border)) // 2]
    lon, lat = float(vertex[0]), float(vertex[1])

    first = routing.locate(lat, lon)
    routing.invalidate()  # a new process builds its own index
    second = routing.locate(lat, lon)

    both = {"eixample", "gracia"}
    assert both <= {a.slug for a in first.authorities}
    smaller = min(both, key=lambda s: shape(barcelona.districts[s].boundary).area)
    assert first.authorities[0].slug == smaller  # documented tie-break: smaller area first
    assert [a.slug for a in first.authorities] == [a.slug for a in second.authorities]
    assert routing.responsible_authority(lat, lon, barcelona.pavement.id).slug == smaller


def test_category_nobody_handles_here_is_refused_with_its_name(barcelona):
    graffiti = factories.CategoryFactory.create(name="Graffiti", slug="graffiti")

    with pytest.raises(CategoryNotOfferedHere, match="Graffiti"):
        routing.responsible_authority(41.4036, 2.1744, graffiti.id)


def test_index_follows_a_boundary_edit_in_this_process(barcelona):
    gracia = barcelona.districts["gracia"]
    sagrada = (41.4036, 2.1744)
    assert routing.locate(*sagrada).authorities[0].slug == "eixample"

    gracia.boundary = factories.square(2.17, 41.40, 0.01)  # Gràcia "annexes" the Sagrada Família
    authority_services.authority_save(authority=gracia)

    assert [a.slug for a in routing.locate(*sagrada).authorities][:1] in (["eixample"], ["gracia"])
    assert {a.slug for a in routing.locate(*sagrada).authorities} == {
        "eixample",
        "gracia",
        "barcelona",
    }
    assert routing.locate(41.4145, 2.1527).authorities[0].slug == "barcelona"  # Park Güell


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """routing's monotonic clock, moved by hand: now[0] += 1."""
    now = [1000.0]
    monkeypatch.setattr(routing, "monotonic", lambda: now[0])
    return now


def test_index_follows_an_edit_made_by_another_process_within_a_second(barcelona, clock):
    sagrada = (41.4036, 2.1744)
    routing.request_freshness_check()  # the request after the fixture's own changes checks
    assert routing.locate(*sagrada).authorities[0].slug == "eixample"
    # Another process deactivates the Eixample and bumps the version; this process's index
    # keeps the old data until a request starts a second after its last check.
    Authority.objects.filter(slug="eixample").update(is_active=False)
    RoutingVersion.objects.filter(pk=1).update(version=10_000)
    clock[0] += 0.5
    Client().get("/healthz")
    assert routing.locate(*sagrada).authorities[0].slug == "eixample"

    clock[0] += 0.5
    Client().get("/healthz")

    assert [a.slug for a in routing.locate(*sagrada).authorities] == ["barcelona"]


def test_version_check_costs_one_query_a_second_and_none_per_lookup(
    barcelona, clock, django_assert_num_queries
):
    routing.request_freshness_check()  # the request after the fixture's own changes checks
    routing.locate(41.4036, 2.1744)
    with django_assert_num_queries(0):
        for _ in range(10):
            routing.request_freshness_check()  # requests within the second
            routing.locate(41.4036, 2.1744)
    clock[0] += 1
    routing.request_freshness_check()
    with django_assert_num_queries(1):
        routing.locate(41.4036, 2.1744)
        routing.locate(41.4036, 2.1744)


def test_a_change_made_here_is_seen_at_once_and_forgotten_at_once_if_rolled_back(barcelona, clock):
    sagrada = (41.4036, 2.1744)
    eixample = barcelona.districts["eixample"]
    assert routing.locate(*sagrada).authorities[0].slug == "eixample"

    with pytest.raises(RuntimeError), transaction.atomic():
        eixample.is_active = False
        authority_services.authority_save(authority=eixample)
        assert routing.locate(*sagrada).authorities[0].slug == "barcelona"  # its own change
        raise RuntimeError("the admin's save fails later")

    Client().get("/healthz")  # the next request, within the same second

    assert routing.locate(*sagrada).authorities[0].slug == "eixample"


def test_with_no_freshness_window_every_request_checks(barcelona, settings):
    settings.FIXPOINT_ROUTING_FRESHNESS_SECONDS = 0
    sagrada = (41.4036, 2.1744)
    routing.locate(*sagrada)
    Authority.objects.filter(slug="eixample").update(is_active=False)
    RoutingVersion.objects.filter(pk=1).update(version=10_000)

    Client().get("/healthz")

    assert routing.locate(*sagrada).authorities[0].slug == "barcelona"


def test_a_worker_task_follows_an_edit_made_by_another_process(barcelona, clock):
    sagrada = (41.4036, 2.1744)
    routing.request_freshness_check()
    assert routing.locate(*sagrada).authorities[0].slug == "eixample"
    Authority.objects.filter(slug="eixample").update(is_active=False)
    RoutingVersion.objects.filter(pk=1).update(version=10_000)
    clock[0] += 1

    task_prerun.send(sender=None, task_id="t", task=None, args=(), kwargs={})

    assert [a.slug for a in routing.locate(*sagrada).authorities] == ["barcelona"]


def test_bulk_routing_agrees_with_single_lookups(barcelona):
    points = [(lat, lon) for _, lat, lon, _ in LANDMARKS] + [(41.35, 2.25)]
    index = routing.get_index()

    bulk = index.covering_many(points)

    assert bulk == [index.covering(lat, lon) for lat, lon in points]
    assert bulk[-1] == ()


def test_inactive_category_link_is_not_offered(barcelona):
    eixample = barcelona.districts["eixample"]
    authority_services.authority_category_set(
        authority=eixample, category=barcelona.pavement, is_active=False
    )

    offers = {o.category.slug: o.authority.slug for o in routing.locate(41.4036, 2.1744).offers}

    assert "pavement" not in offers


def test_a_cache_too_small_for_any_boundary_routes_every_landmark_the_same(barcelona, settings):
    """A national map keeps most boundaries as WKB and decodes them as points fall in them
    (ROUTING_CACHE_VERTICES): with room for only one polygon at a time, every answer is the
    same as with the whole city decoded, and the cache never holds more than the one in use."""
    points = [(lat, lon) for _, lat, lon, _ in LANDMARKS] + [(41.35, 2.25)]
    roomy = routing.get_index()
    expected = [roomy.covering(lat, lon) for lat, lon in points]
    settings.FIXPOINT_ROUTING_CACHE_VERTICES = 1
    starved = routing.build_index(routing.current_version())

    answers = [starved.covering(lat, lon) for lat, lon in points]

    assert answers == expected
    assert starved.covering_many(points) == expected
    assert [starved.area_at(lat, lon) for lat, lon in points] == [
        roomy.area_at(lat, lon) for lat, lon in points
    ]
    assert len(starved.geometries._cache) == 1


def test_boundaries_come_back_from_the_store_as_they_were_stored(barcelona):
    """Holes and the parts of a multipolygon survive the compact form exactly."""
    holed = {"type": "MultiPolygon", "coordinates": [
        [[[2.0, 41.0], [2.1, 41.0], [2.1, 41.1], [2.0, 41.1], [2.0, 41.0]],
         [[2.04, 41.04], [2.06, 41.04], [2.06, 41.06], [2.04, 41.06], [2.04, 41.04]]],
        [[[2.3, 41.0], [2.3123457, 41.0], [2.3123457, 41.0123457], [2.3, 41.0]]],
    ]}  # fmt: skip
    factories.authority("Islands", holed, slug="islands")
    routing.invalidate()
    index = routing.get_index()
    position = [a.slug for a in index.authorities].index("islands")

    assert shapely.equals_exact(index.geometries[position], shape(holed), tolerance=0)
    assert [a.slug for a in index.covering(41.05, 2.05)] == []  # in the hole
    assert [a.slug for a in index.covering(41.0001, 2.312)] == ["islands"]
