"""The one interface to geocoding: `geocode(text)` and `reverse_geocode(lat, lon)`.

Both ask the local gazetteer first and the external geocoder (if configured) only when it has no
answer. Search answers are split by the area Fixpoint serves (the union of the authorities'
boundaries, from authorities.routing): what lies inside is a result; what lies outside is kept
apart with the nearest authority that does not cover it, so that a person who searched for a
street of the next town learns why they cannot report there instead of finding nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely

from .. import routing
from . import external, local
from .local import Hit, Nearest
from .text import parse

MAX_LIMIT = 20
OUTSIDE_SHOWN = 5
NEARBY_M = 200  # "near Carrer de Mallorca 401" is honest only this close


@dataclass(frozen=True)
class Outside:
    hit: Hit
    message: str
    authority: routing.AuthorityRef | None  # the nearest served authority, which does not cover it
    distance: float | None  # metres from the point to that authority's boundary


@dataclass(frozen=True)
class GeocodeAnswer:
    results: list[Hit]  # inside the served area, best first
    outside: list[Outside]
    attribution: str  # the external provider's licence line, when its answers are used


def geocode(text: str, *, limit: int = 10) -> GeocodeAnswer:
    limit = max(1, min(limit, MAX_LIMIT))
    hits = local.search(parse(text), limit=limit + OUTSIDE_SHOWN)
    if not hits and external.enabled():
        hits = external.search(text, limit=limit + OUTSIDE_SHOWN, viewbox=served_bounds())
    inside, outside = _split_by_served_area(hits)
    attribution = next(
        (h.attribution for h in [*inside, *(o.hit for o in outside)] if h.attribution), ""
    )
    return GeocodeAnswer(inside[:limit], outside[:OUTSIDE_SHOWN], attribution)


def reverse_geocode(latitude: float, longitude: float) -> Nearest | None:
    """The nearest address or place (local, else external), else the smallest named area or
    authority covering the point (0 m), else None."""
    found = local.nearest(latitude, longitude)
    if found is None and external.enabled():
        hit = external.reverse(latitude, longitude)
        if hit is not None:
            metres = local.metres_between(latitude, longitude, hit.latitude, hit.longitude)
            found = Nearest(hit, metres)
    return found or _covering_area(latitude, longitude)


def nearby_label(latitude: float, longitude: float) -> str:
    """The nearest address or place within NEARBY_M metres, for a report's "near ..." line, from
    the local gazetteer only: filing a report never waits for an outside server. "" if none."""
    if not routing.get_index().has_gazetteer:
        return ""
    found = local.nearest(latitude, longitude, max_radius=NEARBY_M)
    return found.hit.label if found is not None else ""


def served_bounds() -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of every authority's boundary, or None without any."""
    index = routing.get_index()
    if not len(index.geometries):
        return None
    return index.geometries.total_bounds()


def _split_by_served_area(hits: list[Hit]) -> tuple[list[Hit], list[Outside]]:
    index = routing.get_index()
    covering = index.covering_many([(h.latitude, h.longitude) for h in hits]) if hits else []
    inside = [hit for hit, found in zip(hits, covering, strict=True) if found]
    outside = [_outside(hit, index) for hit, found in zip(hits, covering, strict=True) if not found]
    return inside, outside


def _outside(hit: Hit, index: routing.RoutingIndex) -> Outside:
    """Name the nearest top-level authority (a city rather than one of its districts) and how
    far its boundary is."""
    point = shapely.Point(hit.longitude, hit.latitude)
    nearest: tuple[float, routing.AuthorityRef] | None = None
    for position, ref in enumerate(index.authorities):
        if ref.depth:
            continue
        edge = shapely.shortest_line(index.geometries[position], point).coords[0]
        metres = local.metres_between(hit.latitude, hit.longitude, edge[1], edge[0])
        if nearest is None or metres < nearest[0]:
            nearest = (metres, ref)
    if nearest is None:
        return Outside(hit, "No authority on this site covers this place.", None, None)
    metres, ref = nearest
    away = f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"
    message = (
        f"{ref.name} does not cover this place ({away} outside its area), and no other "
        "authority here does: reports cannot be made there."
    )
    return Outside(hit, message, ref, round(metres, 1))


def _covering_area(latitude: float, longitude: float) -> Nearest | None:
    index = routing.get_index()
    area = index.area_at(latitude, longitude)
    if area is not None:
        return Nearest(Hit(area.name, latitude, longitude, "area"), 0.0)
    covering = index.covering(latitude, longitude)
    if covering:
        return Nearest(Hit(covering[0].name, latitude, longitude, "area"), 0.0)
    return None
