"""The tiles: one GROUP BY over the spatial index per request's missing tiles, and the tile
cache (shared, under per-tile version tokens that every report change replaces, plus each
process's last tiles)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime
from itertools import accumulate
from typing import Any

from django.core.cache import cache
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Avg,
    BigIntegerField,
    BooleanField,
    Count,
    F,
    Func,
    Min,
    Q,
)
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone, translation

from config import cache as shared_cache
from config import replica
from config.params import Box
from reports.models import MapCell, Report

from .grid import Grid
from .query import (
    _FORMAT,
    CATEGORIES_KEY,
    DATA_TTL,
    GEN_KEY,
    GRID,
    LOCAL_TILES,
    MAX_GRID_ZOOM,
    STREET_ZOOM,
    VERSION_TTL,
    IndexRange,
    MapFilters,
    Tile,
    TileKey,
)
from .rollup import rollup_cell_counts, rollup_serves


class _CellIndex(Func):
    """floor((column + offset) / size) as an integer, evaluated as IEEE doubles on each database
    (CAST truncates, which is floor here because the operand is never negative)."""

    def __init__(self, column: str, offset: float, size: float) -> None:
        super().__init__(F(column), output_field=BigIntegerField())
        self.offset, self.size = offset, size

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.get_source_expressions()[0])
        if connection.vendor == "postgresql":
            sql = f"floor(({column} + %s) / %s)::bigint"
        else:
            sql = f"CAST(({column} + %s) / %s AS INTEGER)"
        return sql, (*params, self.offset, self.size)


class _InBox(Func):
    """Reports whose point lies in a box, through the spatial index of migration 0002."""

    conditional = True

    def __init__(self, box: Box) -> None:
        super().__init__(F("longitude"), F("latitude"), F("pk"), output_field=BooleanField())
        self.box = box

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        lon, lat, pk = (compiler.compile(e)[0] for e in self.get_source_expressions())
        west, south, east, north = self.box
        if connection.vendor == "postgresql":
            # The ranges let the B-tree on (latitude, longitude) serve if the GiST index is gone;
            # the planner picks whichever is cheaper.
            return (
                f"(point({lon}, {lat}) <@ box(point(%s, %s), point(%s, %s))"
                f" AND {lat} BETWEEN %s AND %s AND {lon} BETWEEN %s AND %s)",
                (west, south, east, north, south, north, west, east),
            )
        if connection.vendor == "sqlite":
            return (
                f"({pk} IN (SELECT id FROM reports_report_rtree WHERE max_lon >= %s"  # noqa: S608
                " AND min_lon <= %s AND max_lat >= %s AND min_lat <= %s))",
                (west, east, south, north),
            )
        return (
            f"({lat} BETWEEN %s AND %s AND {lon} BETWEEN %s AND %s)",
            (south, north, west, east),
        )


def _cell_counts(
    grid: Grid, box: Box, filters: MapFilters, now: datetime
) -> Iterable[Mapping[str, Any]]:
    return (
        filters.apply(Report.objects.public(), now)
        .filter(_InBox(box))
        .annotate(
            cx=_CellIndex("longitude", 180.0, grid.cell),
            cy=_CellIndex("latitude", 90.0, grid.cell),
        )
        .values("cx", "cy")
        .annotate(n=Count("id"), lat=Avg("latitude"), lon=Avg("longitude"), first=Min("id"))
        .order_by()
    )


def _compute_tiles(
    grid: Grid, wanted: Sequence[TileKey], filters: MapFilters, now: datetime
) -> dict[TileKey, Tile]:
    """The features of the wanted tiles, in one grouped query (and one for single reports)."""
    cells: dict[TileKey, list[Mapping[str, Any]]] = {tile: [] for tile in wanted}
    counted: Iterable[Mapping[str, Any]]
    if rollup_serves(grid, filters, MapCell.objects.all().db):
        counted = rollup_cell_counts(grid, wanted, filters)
    else:
        counted = _cell_counts(grid, grid.tile_box(wanted), filters, now)
    for row in counted:
        tile = (row["cx"] // GRID, row["cy"] // GRID)
        if tile in cells:  # the box's margin (the rollup: its rows and columns) reaches further
            cells[tile].append(row)
    expand = {  # street-level tiles with few reports, some sharing a cell: show them all
        tile
        for tile, rows in cells.items()
        if grid.zoom >= STREET_ZOOM
        and any(r["n"] > 1 for r in rows)
        and sum(r["n"] for r in rows) <= GRID * GRID
    }
    ids = [r["first"] for t, rows in cells.items() if t not in expand for r in rows if r["n"] == 1]
    singles = _singles(grid, ids, expand, filters, now)
    features: dict[TileKey, list[tuple[int, int, dict[str, Any]]]] = {}
    for tile, rows in cells.items():
        features[tile] = [] if tile in expand else [_cell_feature(r, singles) for r in rows]
    for cx, cy, feature in singles.values():  # the reports of expanded tiles
        features[cx // GRID, cy // GRID].append((cx, cy, feature))
    return {tile: _serialised(found) for tile, found in features.items()}


def _serialised(features: list[tuple[int, int, dict[str, Any]]]) -> Tile:
    features.sort(key=lambda f: (f[1], f[0], f[2]["properties"].get("ref", "")))
    texts = [json.dumps(feature, separators=(",", ":")) for _, _, feature in features]
    cells = bytes((cy % GRID) * GRID + cx % GRID for cx, cy, _ in features)
    starts = array("i", accumulate((len(text) + 1 for text in texts), initial=0))
    return ",".join(texts), cells, starts.tobytes()


def _clipped(tile: TileKey, data: Tile, cells: IndexRange) -> list[str]:
    """The tile's features in the range of cells, as slices of its text (the whole text when
    the range covers the tile)."""
    text, order, raw = data
    left, bottom = tile[0] * GRID, tile[1] * GRID
    x0, y0 = max(cells[0] - left, 0), max(cells[1] - bottom, 0)
    x1, y1 = min(cells[2] - left, GRID - 1), min(cells[3] - bottom, GRID - 1)
    if not text or (x0, y0, x1, y1) == (0, 0, GRID - 1, GRID - 1):
        return [text] if text else []
    starts = array("i")
    starts.frombytes(raw)
    # Whole rows of cells are contiguous in the text, so are the rows' runs of columns.
    runs = (
        [(y0 * GRID, y1 * GRID + GRID - 1)]
        if (x0, x1) == (0, GRID - 1)
        else [(row * GRID + x0, row * GRID + x1) for row in range(y0, y1 + 1)]
    )
    parts = []
    for first, last in runs:
        lo, hi = bisect_left(order, first), bisect_right(order, last)
        if lo < hi:
            parts.append(text[starts[lo] : starts[hi] - 1])
    return parts


def _singles(
    grid: Grid, ids: list[int], expand: set[TileKey], filters: MapFilters, now: datetime
) -> dict[int, tuple[int, int, dict[str, Any]]]:
    """Report features by id: those with the given ids and every report of the expanded tiles."""
    if not ids and not expand:
        return {}
    where = Q(pk__in=ids)
    for tile in expand:
        where |= Q(_InBox(grid.tile_box([tile])))
    reports = (
        filters.apply(Report.objects.public(), now)
        .filter(where)
        .select_related("category")
        .only(
            "ref", "title", "state", "latitude", "longitude", "category__slug", "category__colour"
        )
        .order_by()
    )
    wanted = set(ids)
    found = {}
    for report in reports:
        cx, cy = grid.cell_of(report.latitude, report.longitude)
        if report.pk in wanted or (cx // GRID, cy // GRID) in expand:
            found[report.pk] = (cx, cy, _report_feature(report))
    return found


def _cell_feature(
    row: Mapping[str, Any], singles: dict[int, tuple[int, int, dict[str, Any]]]
) -> tuple[int, int, dict[str, Any]]:
    if row["n"] == 1 and row["first"] in singles:
        return singles.pop(row["first"])
    # Also a cell of one report whose details vanished between the two queries (just now spam).
    feature = _point_feature(row["lon"], row["lat"], {"cluster": True, "count": row["n"]})
    return row["cx"], row["cy"], feature


def _report_feature(report: Report) -> dict[str, Any]:
    return _point_feature(
        report.longitude,
        report.latitude,
        {
            "cluster": False,
            "ref": report.ref,
            "title": report.title,
            "state": report.state,
            "state_label": str(report.get_state_display()),  # hence the language in the key
            "category": report.category.slug,
            "colour": report.category.colour,
            "url": report.get_absolute_url(),
        },
    )


def _point_feature(lon: float, lat: float, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
        "properties": properties,
    }


def _new_token() -> int:
    # An int: Django's Redis backend stores ints as such, without pickling. Random in its low
    # bits; above them, when it was made (ms), for _changed_within.
    return _now_ms() << 62 | secrets.randbits(62)


def _changed_within(stamp: Stamp, seconds: float) -> bool:
    """Whether either token of the stamp was made in the last ``seconds``."""
    return max(stamp) >> 62 > _now_ms() - seconds * 1000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _version_key(zoom: int, tile: TileKey) -> str:
    return f"map:v:{zoom}:{tile[0]}:{tile[1]}"


Stamp = tuple[int, int]  # (generation, tile version)


class _LocalTiles:
    """This process's copies of recently used tiles, each with the stamp it was computed under.

    Only ever used after the current stamps were read from the shared cache, so it is exactly
    as fresh; it saves fetching and unpickling the tiles on every request.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[Stamp, Tile]] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def get(self, key: str, stamp: Stamp) -> Tile | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None or entry[0] != stamp:
                return None
            self._items.move_to_end(key)
            return entry[1]

    def put(self, key: str, stamp: Stamp, tile: Tile) -> None:
        with self._lock:
            self._items[key] = (stamp, tile)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_local = _LocalTiles(LOCAL_TILES)


def _tiles(grid: Grid, tiles: Sequence[TileKey], filters: MapFilters) -> dict[TileKey, Tile]:
    """The tiles' features: from this process or the shared cache where they carry the current
    stamp, else computed (all missing tiles together, in the same queries) and cached. While
    Redis is out of reach there are no shared stamps, so nothing cached can be proven current:
    every tile is computed."""
    now = timezone.now()
    if shared_cache.unreachable():
        return _compute_tiles(grid, list(tiles), filters, now)
    token = filters.cache_token(now, translation.get_language())
    version_keys = {tile: _version_key(grid.zoom, tile) for tile in tiles}
    data_keys = {t: f"map:t{_FORMAT}:{grid.zoom}:{t[0]}:{t[1]}:{token}" for t in tiles}
    # One round trip: the stamps, and the tiles this process does not hold in any version.
    got = cache.get_many(
        [GEN_KEY, *version_keys.values(), *(k for k in data_keys.values() if k not in _local)]
    )
    _give_missing_tokens(got, [GEN_KEY, *version_keys.values()])
    stamps = {tile: (got[GEN_KEY], got[key]) for tile, key in version_keys.items()}
    found = _current(data_keys, stamps, got)
    stale = [t for t in tiles if t not in found and data_keys[t] in _local]
    if stale:  # changed since this process cached them: another one may have the new version
        shared = cache.get_many([data_keys[t] for t in stale])
        found.update(_current({t: data_keys[t] for t in stale}, stamps, shared))
    missing = [tile for tile in tiles if tile not in found]
    if missing:
        found.update(_compute_and_store(grid, missing, filters, now, stamps, data_keys))
    return found


def _current(
    keys: dict[TileKey, str], stamps: dict[TileKey, Stamp], shared: dict[str, Any]
) -> dict[TileKey, Tile]:
    """The tiles whose copy here or in the shared entries carries the current stamp."""
    found = {}
    for tile, key in keys.items():
        local = _local.get(key, stamps[tile])
        if local is not None:
            found[tile] = local
        elif key in shared and shared[key][0] == stamps[tile]:
            found[tile] = shared[key][1]
            _local.put(key, stamps[tile], found[tile])
    return found


def _compute_and_store(
    grid: Grid,
    missing: list[TileKey],
    filters: MapFilters,
    now: datetime,
    stamps: dict[TileKey, Stamp],
    data_keys: dict[TileKey, str],
) -> dict[TileKey, Tile]:
    # With a read replica: a tile changed within the pin window may lack the change there, and
    # would be cached under the new stamp without it, so it is computed from the primary.
    recent = any(_changed_within(stamps[tile], replica.pin_seconds()) for tile in missing)
    with replica.primary_reads() if recent else nullcontext():
        computed = _compute_tiles(grid, missing, filters, now)
    cache.set_many({data_keys[t]: (stamps[t], computed[t]) for t in missing}, DATA_TTL)
    for tile in missing:
        _local.put(data_keys[tile], stamps[tile], computed[tile])
    return computed


def _give_missing_tokens(got: dict[str, Any], keys: Sequence[str]) -> None:
    # Never set or evicted: a new token can only cause a recomputation, never stale data, since
    # whatever is computed under it is computed after it was set.
    fresh = {key: _new_token() for key in keys if key not in got}
    if fresh:
        cache.set_many(fresh, VERSION_TTL)
        got.update(fresh)


def bump_location(latitude: float, longitude: float) -> None:
    """Give the tiles containing this point, at every grid zoom, new versions (now)."""
    bump_locations([(latitude, longitude)])


def bump_locations(places: Iterable[tuple[float, float]]) -> None:
    """bump_location for several points, in one cache round trip."""
    keys = {
        _version_key(z, Grid(z).tile_of(latitude, longitude))
        for latitude, longitude in places
        for z in range(MAX_GRID_ZOOM + 1)
    }
    if not keys:
        return
    token = _new_token()  # new for every bump: differs from what each key held
    tokens = dict.fromkeys(keys, token)
    set_ints = getattr(cache, "set_ints", None)  # config.cache.RedisCache: one command
    if set_ints is not None:
        set_ints(tokens, VERSION_TTL)
    else:
        cache.set_many(tokens, VERSION_TTL)


def invalidate_all() -> None:
    """Forget every cached tile and the category table (e.g. after restoring a database)."""
    cache.set(GEN_KEY, _new_token(), None)
    cache.delete(CATEGORIES_KEY)
    _local.clear()  # not needed for correctness (the stamps changed), but frees the memory
