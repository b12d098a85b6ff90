"""The selector and the view of /map/reports.json."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse

from config import params
from config.jsonapi import endpoint
from config.replica import replica_reads

from .grid import grid_for
from .query import MapFilters, parse_filters, parse_zoom
from .tiles import _clipped, _tiles


def viewport(
    *, west: float, south: float, east: float, north: float, zoom: int, filters: MapFilters
) -> dict[str, Any]:
    """The FeatureCollection for a viewport: at most MAX_FEATURES clusters and reports."""
    features = _viewport_json_features(west, south, east, north, zoom, filters)
    return json.loads('{"type":"FeatureCollection","features":[' + ",".join(features) + "]}")


def _viewport_json_features(
    west: float, south: float, east: float, north: float, zoom: int, filters: MapFilters
) -> list[str]:
    box = (west, south, east, north)
    grid = grid_for(box, zoom)
    tiles = _tiles(grid, grid.tiles(box), filters)
    cells = grid.cells(box)
    ordered = sorted(tiles, key=lambda t: (t[1], t[0]))
    return [text for tile in ordered for text in _clipped(tile, tiles[tile], cells)]


@replica_reads
@endpoint("GET")
def viewport_json(request: HttpRequest) -> HttpResponse:
    """GET /map/reports.json?bbox=w,s,e,n&zoom=Z[&category=..][&state=..][&age=..]

    The features are cached as JSON text and sent as they are (what JsonResponse would send for
    viewport()'s dict, without decoding and encoding it again).
    """
    west, south, east, north = params.bbox(request.GET.get("bbox"))
    zoom = parse_zoom(request.GET.get("zoom"))
    filters = parse_filters(request.GET)
    features = _viewport_json_features(west, south, east, north, zoom, filters)
    body = '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"
    return HttpResponse(body, content_type="application/json")
