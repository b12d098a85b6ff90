"""The local gazetteer: search by text, and the nearest address or place to a point.

Search finds *names* first: streets and places through a text index (PostgreSQL: trigram word
distance, nearest first, from a GiST index; SQLite: FTS5 prefix queries, with misspelt words
replaced by the indexed words one or two edits away), areas (authorities, neighbourhoods) in
this process's memory. A street's addresses are then found by number through the (street,
number) index, and a postcode through the (postcode, lat, lon) index. The text index therefore
holds the streets of a city, not each of its address points, which keeps a search within a few
milliseconds at a million addresses. The databases only fetch candidates; `text.score` ranks
them, identically on both.

The nearest address to a point comes from a box around it on the (latitude, longitude) index,
ordered by distance in the database; places by their bounding boxes, measured with shapely (a
point inside a park's polygon is 0 m from the park).
"""

from __future__ import annotations

import importlib
import json
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import shapely
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Avg, F, Q
from geopy.distance import distance as geodesic
from rapidfuzz import process
from rapidfuzz.distance import OSA
from shapely.geometry import shape

from .. import routing
from ..models import AddressPoint, Area, Place, address_label
from .text import Query, normalise, score, typos_allowed

CANDIDATES = 30  # names fetched from each index, then ranked here
MIN_SCORE = 0.5  # below this a name is not an answer
STREETS_FOR_NUMBERS = 5  # best streets whose addresses are looked up by number
# Among answers that match equally well: a landmark, then an area, then a street. An address
# (a street with the asked number) comes first of all.
KIND_PRIOR = {"address": 0.05, "place": 0.03, "area": 0.02, "street": 0.0}
# An address whose number was asked for explains more of the question than a name alone.
EXACT_NUMBER, NUMBER_PREFIX = 0.1, 0.04
REVERSE_STEPS_M = (50, 200, 1000)  # boxes tried in turn for the nearest address or place
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Hit:
    label: str
    latitude: float
    longitude: float
    kind: str  # address, street, place, area
    score: float = 0.0
    source: str = "local"  # or "external"
    attribution: str = ""  # the provider's licence line, for external answers

    @property
    def rank(self) -> tuple[float, int, str]:
        return (-(self.score + KIND_PRIOR.get(self.kind, 0.0)), len(self.label), self.label)


@dataclass(frozen=True)
class Nearest:
    hit: Hit
    distance: float  # metres


def search(query: Query, limit: int) -> list[Hit]:
    """The local answers to a query, best first."""
    if query.is_empty:
        return []
    postcodes = _postcodes(query.numbers)
    house_numbers = tuple(n for n in query.numbers if n not in postcodes)
    hits: list[Hit] = []
    if query.words:
        street_rows, place_rows = _name_candidates(query)
        streets = _streets(street_rows, query)
        hits += [s.hit for s in streets]
        hits += _places(place_rows, query)
        hits += _areas(query)
        if house_numbers and streets:
            hits += _addresses(streets[:STREETS_FOR_NUMBERS], house_numbers, postcodes)
    elif postcodes:
        hits += [_postcode_area(code) for code in postcodes]
    hits.sort(key=lambda h: h.rank)
    return _distinct(hits)[:limit]


def _distinct(hits: Iterable[Hit]) -> list[Hit]:
    seen: set[tuple[str, str]] = set()
    result = []
    for hit in hits:
        if (hit.kind, hit.label) not in seen:
            seen.add((hit.kind, hit.label))
            result.append(hit)
    return result


# --- streets and places: candidates from the text index ---------------------------------------


@dataclass(frozen=True)
class _Street:
    id: int
    hit: Hit


def _streets(rows: list[tuple[Any, ...]], query: Query) -> list[_Street]:
    found = []
    for id_, search_text, name, city, lat, lon in rows:
        # The name alone, or with its city when the city was asked for too.
        value = max(score(query.words, normalise(name)), score(query.words, search_text))
        if value >= MIN_SCORE:
            label = f"{name}, {city}" if city else name
            found.append(_Street(id_, Hit(label, lat, lon, "street", value)))
    found.sort(key=lambda s: s.hit.rank)
    return found


def _places(rows: list[tuple[Any, ...]], query: Query) -> list[Hit]:
    found = []
    for _id, search_text, name, alt_names, lat, lon in rows:
        names = [name, *(_json_list(alt_names))]
        value = max(score(query.words, normalise(n)) for n in names)
        value = max(value, score(query.words, search_text) - 0.05)
        if value >= MIN_SCORE:
            found.append(Hit(name, lat, lon, "place", value))
    return found


def _json_list(value: Any) -> list[str]:
    if isinstance(value, str):  # SQLite's raw cursor returns the JSON text
        value = json.loads(value or "[]")
    return [str(v) for v in value or []]


STREET_COLUMNS = ("authorities_street", "name, city, latitude, longitude")
PLACE_COLUMNS = ("authorities_place", "name, alt_names, latitude, longitude")


def _name_candidates(query: Query) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows (id, search_text, ...) of the streets and places the text index offers."""
    if connection.vendor == "postgresql":
        return _trigram_candidates(query)
    return _fts_candidates(*STREET_COLUMNS, query), _fts_candidates(*PLACE_COLUMNS, query)


def _trigram_candidates(query: Query) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The names nearest the asked words by pg_trgm's word distance, nearest first, from the
    GiST index (migration 0006): no threshold, so a short misspelt word still finds its name."""
    text = " ".join(query.words)
    found = []
    with connection.cursor() as cursor:
        for table, columns in (STREET_COLUMNS, PLACE_COLUMNS):
            cursor.execute(
                f"SELECT id, search_text, {columns} FROM {table} "  # noqa: S608 (names are ours)
                "ORDER BY %s <<-> search_text LIMIT %s",
                [text, CANDIDATES],
            )
            found.append(list(cursor.fetchall()))
    return found[0], found[1]


def _fts_candidates(table: str, columns: str, query: Query) -> list[tuple[Any, ...]]:
    fts = f"{table}_fts"
    sql = (
        f"SELECT t.id, t.search_text, {columns} FROM {fts} "  # noqa: S608 (names are ours)
        f"JOIN {table} t ON t.id = {fts}.rowid WHERE {fts} MATCH %s ORDER BY rank LIMIT %s"
    )
    with connection.cursor() as cursor:
        groups = [_fts_group(cursor, table, word) for word in query.key_words]
        if not groups:
            return []
        cursor.execute(sql, [" AND ".join(groups), CANDIDATES])
        rows = list(cursor.fetchall())
        if len(rows) < CANDIDATES and len(groups) > 1:  # names that have some of the words
            cursor.execute(sql, [" OR ".join(groups), CANDIDATES])
            seen = {row[0] for row in rows}
            rows += [row for row in cursor.fetchall() if row[0] not in seen]
        return rows


def _fts_group(cursor: Any, table: str, word: str) -> str:
    """An FTS5 group for an asked word: the word as a prefix, or any indexed word within its
    typo allowance. Words are normalised (letters and digits only), so safe in quotes."""
    options = [f'"{word}"*', *(f'"{w}"' for w in _close_words(cursor, table, word))]
    return "(" + " OR ".join(options) + ")"


def _close_words(cursor: Any, table: str, word: str) -> list[str]:
    """Indexed words one or two edits from a word (SQLite's FTS5 has no fuzzy match of its
    own; its fts5vocab table lists the words, and rapidfuzz measures them)."""
    allowed = typos_allowed(word)
    if not allowed:
        return []
    cursor.execute(
        f"SELECT term FROM {table}_vocab WHERE length(term) BETWEEN %s AND %s",  # noqa: S608
        [len(word) - allowed, len(word) + allowed],
    )
    terms = [row[0] for row in cursor.fetchall()]
    close = process.extract(word, terms, scorer=OSA.distance, score_cutoff=allowed, limit=5)
    return [term for term, _distance, _index in close if term != word]


# --- addresses and postcodes ------------------------------------------------------------------


def _postcodes(numbers: tuple[str, ...]) -> set[str]:
    return {n for n in numbers if len(n) >= 3 and AddressPoint.objects.filter(postcode=n).exists()}


def _addresses(streets: list[_Street], numbers: tuple[str, ...], postcodes: set[str]) -> list[Hit]:
    by_id = {s.id: s.hit for s in streets}
    wanted = Q()
    for number in numbers:
        wanted |= Q(number_key__startswith=number)
    found = AddressPoint.objects.filter(wanted, street_id__in=by_id).select_related("street")
    if postcodes:
        found = found.filter(postcode__in=postcodes)
    hits = []
    for point in found.order_by("street_id", "number_key", "unit")[:200]:
        street = by_id[point.street_id]
        bonus = EXACT_NUMBER if point.number_key in numbers else NUMBER_PREFIX
        label = address_label(
            point.street.name, point.number, point.unit, point.postcode, point.street.city
        )
        hits.append(Hit(label, point.latitude, point.longitude, "address", street.score + bonus))
    return hits


def _postcode_area(postcode: str) -> Hit:
    found = AddressPoint.objects.filter(postcode=postcode)
    centre = found.aggregate(lat=Avg("latitude"), lon=Avg("longitude"))
    city = found.values_list("street__city", flat=True).first() or ""
    label = f"{postcode} {city}".strip()
    return Hit(label, centre["lat"], centre["lon"], "area", 1.0)


# --- areas: authorities and neighbourhoods, from this process's memory -------------------------


@dataclass(frozen=True)
class _Named:
    label: str
    text: str
    latitude: float
    longitude: float


_areas_lock = threading.Lock()
_areas_cache: tuple[routing.Stamp, list[_Named]] | None = None


def _areas(query: Query) -> list[Hit]:
    hits = []
    for named in _area_names():
        value = score(query.words, named.text)
        if value >= MIN_SCORE:
            hits.append(Hit(named.label, named.latitude, named.longitude, "area", value))
    return hits


def _area_names() -> list[_Named]:
    """Every authority's and named area's name and a point inside it, rebuilt with routing's
    index (which changes whenever an authority or area does)."""
    global _areas_cache
    index = routing.get_index()
    cached = _areas_cache
    if cached is not None and cached[0] == index.version:
        return cached[1]
    with _areas_lock:
        names = []
        for ref, geometry in zip(index.authorities, index.geometries, strict=True):
            inside = geometry.representative_point()
            names.append(_Named(ref.name, normalise(ref.name), inside.y, inside.x))
        for name, lat, lon in Area.objects.values_list("name", "latitude", "longitude"):
            names.append(_Named(name, normalise(name), lat, lon))
        _areas_cache = (index.version, names)
        return names


# --- the nearest address or place to a point ---------------------------------------------------


def nearest(
    latitude: float, longitude: float, *, max_radius: float = REVERSE_STEPS_M[-1]
) -> Nearest | None:
    """The nearest address point or place within ``max_radius`` metres (at most
    REVERSE_STEPS_M[-1]), or None."""
    routing.check_coordinates(latitude, longitude)
    for radius in (r for r in REVERSE_STEPS_M if r <= max_radius):
        found = [f for f in (_nearest_address(latitude, longitude, radius),
                             _nearest_place(latitude, longitude, radius)) if f]  # fmt: skip
        best = min(found, key=lambda f: (f.distance, f.hit.kind != "address"), default=None)
        if best is not None and best.distance <= radius:
            return best
    return None


def _box(latitude: float, longitude: float, metres: float) -> tuple[float, float, float, float]:
    dlat = metres / METRES_PER_DEGREE
    dlon = metres / (METRES_PER_DEGREE * max(math.cos(math.radians(latitude)), 0.01))
    return latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon


def _nearest_address(latitude: float, longitude: float, radius: float) -> Nearest | None:
    south, north, west, east = _box(latitude, longitude, radius)
    scale = math.cos(math.radians(latitude)) ** 2
    point = (
        AddressPoint.objects.filter(latitude__range=(south, north), longitude__range=(west, east))
        .annotate(
            d2=(F("latitude") - latitude) * (F("latitude") - latitude)
            + (F("longitude") - longitude) * (F("longitude") - longitude) * scale
        )
        .select_related("street")
        .order_by("d2")
        .first()
    )
    if point is None:
        return None
    label = address_label(
        point.street.name, point.number, point.unit, point.postcode, point.street.city
    )
    hit = Hit(label, point.latitude, point.longitude, "address")
    return Nearest(hit, metres_between(latitude, longitude, point.latitude, point.longitude))


def _nearest_place(latitude: float, longitude: float, radius: float) -> Nearest | None:
    south, north, west, east = _box(latitude, longitude, radius)
    places = Place.objects.filter(
        south__lte=north, north__gte=south, west__lte=east, east__gte=west
    )
    best: Nearest | None = None
    for place in places[:500]:
        metres = metres_to_geometry(latitude, longitude, place.geometry)
        if best is None or metres < best.distance:
            best = Nearest(Hit(place.name, place.latitude, place.longitude, "place"), metres)
    return best


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(geodesic((lat1, lon1), (lat2, lon2)).meters)


def metres_to_geometry(latitude: float, longitude: float, geometry: dict[str, Any]) -> float:
    """Metres from a point to a GeoJSON geometry: 0 inside a polygon, else to its nearest point
    (found in longitude/latitude, measured on the ellipsoid; exact enough across a city)."""
    target = shape(geometry)
    point = shapely.Point(longitude, latitude)
    if target.geom_type != "Point" and shapely.covers(target, point):
        return 0.0
    closest = shapely.shortest_line(target, point).coords[0]
    return metres_between(latitude, longitude, closest[1], closest[0])


def repair_sqlite_search(sender: Any, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    """post_migrate: re-create the FTS5 triggers if a table rebuild dropped them (Django's SQLite
    schema editor rebuilds a table for many ALTERs), and rebuild the FTS5 tables then."""
    if getattr(sender, "label", None) != "authorities" or connections[using].vendor != "sqlite":
        return
    migration = importlib.import_module("authorities.migrations.0007_gazetteer_search_index")
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        wanted = {f"{t}_fts_{s}" for t in migration.SEARCHED for s in ("ins", "del", "upd")}
        if "authorities_street_fts" in present and not present.issuperset(wanted):
            migration.create_sqlite_search(cursor)
