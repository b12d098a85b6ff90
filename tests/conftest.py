from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache as django_cache
from django.test import override_settings
from django.utils import translation

from accounts.models import User
from accounts.services import api_keys_forget
from authorities import routing
from authorities import services as authority_services
from authorities.models import Authority, AuthorityKind, Category
from authorities.services import BoundaryFeature
from tests import factories

BARCELONA = Path(__file__).resolve().parent.parent / "authorities" / "data" / "barcelona"


def pytest_configure(config: pytest.Config) -> None:
    # In a parallel run (pytest-xdist, `-n 2`) each worker process has its own test database
    # (pytest-django names it test_<name>_gw0, _gw1) and, from here, its own key prefix in the
    # cache they share (CACHE_URL=redis://...): one's rate limits, tiles and wake-up marks are not
    # the other's, and its cache.clear() before every test deletes only its own keys. Without
    # CACHE_URL each process has a cache of its own in memory.
    worker, url = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("CACHE_URL")
    if worker and url:
        _cache_prefix_of_this_worker(worker, url)


def _cache_prefix_of_this_worker(worker: str, url: str) -> None:
    default = django_settings.CACHES["default"]
    prefix = worker_cache_prefix(default.get("KEY_PREFIX") or "", worker)
    caches = {**django_settings.CACHES, "default": {**default, "KEY_PREFIX": prefix}}
    override_settings(CACHES=caches).enable()  # for the rest of this process
    # The Celery workers and servers that tests start read CACHE_URL (and its ?key_prefix=):
    # they must use the same keys as the test that started them.
    os.environ["CACHE_URL"] = cache_url_with_prefix(url, prefix)


def worker_cache_prefix(prefix: str, worker: str) -> str:
    """The cache key prefix of one xdist worker (gw0, gw1, ...): the run's own, or a default."""
    return f"{prefix or 'fixpoint-tests'}-{worker}"


def cache_url_with_prefix(url: str, prefix: str) -> str:
    """``url`` (CACHE_URL) with its ?key_prefix= replaced by ``prefix``, the rest kept."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "key_prefix"]
    query.append(("key_prefix", prefix))
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture(autouse=True)
def _fresh_routing_index() -> None:
    # Each test has its own database state (and, on PostgreSQL, its own ids): never reuse an
    # index built for another test.
    routing.invalidate()
    api_keys_forget()  # and keys: a test's key may have been deactivated by its database's rollback


@pytest.fixture(autouse=True)
def _english_to_start_with() -> Iterator[None]:
    # A request leaves its language active in the thread (LocaleMiddleware does not reset it):
    # a test must not write the next test's content in the last one's language.
    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    django_cache.clear()  # rate limits and map tiles must not leak from one test into the next
    # Deliberately slow hashing protects real passwords; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Without a broker, tasks run in the request that queues them, so what a request did is
    # there when it returns; tests/reports/test_embedded_worker.py runs the worker thread.
    settings.EMBEDDED_WORKER = False


@cache
def barcelona_geojson(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((BARCELONA / f"{name}.geojson").read_text())
    return result


@dataclass
class TinyCity:
    """A square city split into a west and an east district, each 0.1 degrees wide."""

    city: Authority
    west: Authority
    east: Authority
    pothole: Category  # handled by districts
    bins: Category  # handled by the city
    west_staff: User
    east_staff: User
    city_staff: User

    WEST = (10.05, 1.05)  # (lat, lon) inside the west district
    EAST = (10.05, 1.15)


@pytest.fixture
def tiny_city(db: None) -> TinyCity:
    pothole = factories.CategoryFactory.create(name="Pothole", slug="pothole", group="Roads")
    bins = factories.CategoryFactory.create(name="Overflowing bin", slug="bins", group="Waste")
    city = factories.authority("Tiny City", factories.square(1.0, 10.0, 0.2), categories=[bins])
    west = factories.authority(
        "West", factories.square(1.0, 10.0, 0.1), parent=city, categories=[pothole]
    )
    east = factories.authority(
        "East",
        {
            "type": "Polygon",
            "coordinates": [[[1.1, 10.0], [1.2, 10.0], [1.2, 10.1], [1.1, 10.1], [1.1, 10.0]]],
        },
        parent=city,
        categories=[pothole],
    )
    return TinyCity(
        city,
        west,
        east,
        pothole,
        bins,
        factories.staff(west),
        factories.staff(east),
        factories.staff(city),
    )


@dataclass
class Barcelona:
    city: Authority
    districts: dict[str, Authority]  # by slug
    pavement: Category  # districts
    waste: Category  # city


@pytest.fixture
def barcelona(db: None) -> Barcelona:
    """The real municipal and district boundaries, with a two-tier category split."""
    pavement = factories.CategoryFactory.create(name="Pavement", slug="pavement", group="Roads")
    waste = factories.CategoryFactory.create(name="Waste", slug="waste-collection", group="Waste")
    city_feature = barcelona_geojson("terme-municipal")["features"][0]
    city = factories.authority(
        "Barcelona City Council", city_feature["geometry"], categories=[waste], slug="barcelona"
    )
    features = [
        BoundaryFeature(n, f["properties"]["NOM"], f["properties"]["CODI_UA"], f["geometry"])
        for n, f in enumerate(barcelona_geojson("districtes")["features"], 1)
    ]
    authority_services.boundaries_import(
        features=features, parent=city, kind=AuthorityKind.DISTRICT
    )
    districts = {a.slug: a for a in Authority.objects.filter(parent=city)}
    for district in districts.values():
        authority_services.authority_category_set(authority=district, category=pavement)
    return Barcelona(city, districts, pavement, waste)
