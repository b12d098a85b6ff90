"""Checking and repairing GeoJSON boundaries with shapely 2."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import shapely
from django.utils.translation import gettext as _
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from .exceptions import InvalidBoundary

logger = logging.getLogger(__name__)

POLYGONAL = ("Polygon", "MultiPolygon")
# What GeoJSON files say for WGS84 longitude/latitude in their (pre-RFC 7946) "crs" member.
WGS84_NAMES = {
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "urn:ogc:def:crs:EPSG::4326",
    "EPSG:4326",
    "CRS84",
}


@dataclass(frozen=True)
class CheckedBoundary:
    geometry: Polygon | MultiPolygon
    repaired: str  # why it was repaired; empty when it was valid as given

    @property
    def geojson(self) -> dict[str, Any]:
        return to_geojson(self.geometry)


def check_boundary(geojson: object) -> CheckedBoundary:
    """Return a valid polygonal geometry for a GeoJSON geometry, or say why there is none.

    A self-intersecting or otherwise broken ring is repaired with make_valid (and logged), because
    real boundary files often have them and refusing would block an import over a sliver.
    Anything that is not a polygon, or has coordinates outside WGS84 longitude/latitude, is refused:
    guessing there would route reports to the wrong place.
    """
    geometry = _parse(geojson)
    _check_wgs84_range(geometry)
    if geometry.is_valid:
        return CheckedBoundary(geometry, "")
    reason = explain_validity(geometry)
    repaired = _polygonal_part(shapely.make_valid(geometry))
    if repaired is None:
        raise InvalidBoundary(
            _("the boundary is broken (%(reason)s) and could not be repaired") % {"reason": reason}
        )
    logger.warning("Repaired an invalid boundary: %s", reason)
    return CheckedBoundary(repaired, reason)


def to_geojson(geometry: BaseGeometry) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(shapely.to_geojson(geometry))
    return result


def _parse(geojson: object) -> Polygon | MultiPolygon:
    if not isinstance(geojson, dict):
        raise InvalidBoundary(_("the geometry is missing or is not a GeoJSON object"))
    kind = geojson.get("type")
    if not kind:
        raise InvalidBoundary(_("the geometry has no type: give a Polygon or MultiPolygon"))
    if kind not in POLYGONAL:
        raise InvalidBoundary(
            _("the geometry is a %(kind)s, not a Polygon or MultiPolygon") % {"kind": kind}
        )
    try:
        geometry = shape(geojson)
    except (GEOSException, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise InvalidBoundary(
            _("the %(kind)s coordinates are malformed (%(error)s)") % {"kind": kind, "error": exc}
        ) from exc
    if geometry.is_empty:
        raise InvalidBoundary(_("the %(kind)s is empty") % {"kind": kind})
    assert isinstance(geometry, Polygon | MultiPolygon)  # noqa: S101 (guaranteed by kind above)
    return geometry


def _check_wgs84_range(geometry: BaseGeometry) -> None:
    min_x, min_y, max_x, max_y = geometry.bounds
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        box = {"x": f"{min_x:g}..{max_x:g}", "y": f"{min_y:g}..{max_y:g}"}
        raise InvalidBoundary(
            _(
                "coordinates out of range (x %(x)s, y %(y)s): boundaries must be WGS84 "
                "longitude/latitude (EPSG:4326)"
            )
            % box
        )


def _polygonal_part(geometry: BaseGeometry) -> Polygon | MultiPolygon | None:
    if isinstance(geometry, Polygon | MultiPolygon):
        return None if geometry.is_empty else geometry
    parts = [
        part
        for part in getattr(geometry, "geoms", [])
        if isinstance(part, Polygon | MultiPolygon) and not part.is_empty
    ]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if isinstance(merged, Polygon | MultiPolygon) else None


EARTH_RADIUS_M = 6_371_000


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), plenty precise at street scale."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
