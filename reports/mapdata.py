"""The citizens' map: reports for a viewport, clustered on the server, cached per tile.

GET /map/reports.json?bbox=w,s,e,n&zoom=Z[&category=slug,...][&state=open|fixed|all][&age=days]
returns a GeoJSON FeatureCollection. Each feature is either a cluster (properties
`{"cluster": true, "count": N}`, placed at the mean position of its reports) or one report
(`"cluster": false`, `ref`, `title`, `state`, `state_label`, `category` (slug), `colour`, `url`).
Bad input is an HTTP 400 with `{"error": {"code": ..., "message": ...}}`.

Grid. At grid zoom g a cell is 90 / 2**g degrees square (longitude and latitude alike) and a tile
is GRID x GRID cells (720 / 2**g degrees: one 512-pixel map tile wide, so a cell is about 64
pixels). A report's cell is (floor((lon + 180) / cell), floor((lat + 90) / cell)), computed in the
database with the same IEEE double arithmetic as here, so SQLite and PostgreSQL (and Python) put a
report in the same cell. A tile's clusters are one GROUP BY over the cells, in SQL, with the
bounding box found through the spatial index of migration 0002 (GiST on point(longitude,
latitude) on PostgreSQL, an R*Tree on SQLite). A cell holding one report gives that report; from
STREET_ZOOM on, a tile holding no more reports than it has cells gives all of them as reports.

Bound. The response holds only cells that intersect the bounding box, and the grid zoom is lowered
(coarser cells) until the box touches at most MAX_TILES tiles, so a response never has more than
MAX_FEATURES (1,536) features, whatever the zoom, the box or the number of reports. The answer
covers whole cells: reports up to one cell beyond the box's edges are included, which is what the
map wants while panning.

Caching. A tile's features (as JSON text) are cached in Django's cache (Redis in production)
under `map:t{format}:{g}:{tx}:{ty}:{filters}` together with the stamp they were computed under:
(generation, tile version). The tile version lives under its own key `map:v:{g}:{tx}:{ty}` and is
replaced by a fresh random token, after the transaction commits, for the tile containing a report
at every grid zoom whenever the report is saved, changes state or is deleted (and for the tile it
was in before, if it moved), so an entry with an older stamp is recomputed when next asked for.
The generation (`map:gen`) is replaced when a category changes (its slug and colour are inside
cached tiles) and by invalidate_all() (e.g. after restoring a database). A missing version
(never set, evicted) just gets a new token: that can cost a recomputation, never stale data,
because a tile is always computed after the stamp it is stored with was read. The filters key
part hashes the state group, the categories, the age cut-off (rounded down to the hour, so
entries are shared for an hour) and the language (single reports carry a translated state label).
Each process also keeps its last LOCAL_TILES tiles with their stamps; they are used only when
their stamp equals the current one, read from the shared cache in the same request, so they are
exactly as fresh. A request whose tiles are all cached costs one cache round trip (the stamps,
plus the tiles this process lacks) and no query; missing tiles cost one grouped query plus, when
there are single reports, one query for their details, for all missing tiles of the request.

Freshness needs on_state_changed() to be called for every report_state_changed (reports.apps
does), and connect_signals() to have been
called (reports.apps.ReportsConfig.ready): it listens to saves and deletes of reports (a report
remembers where it was when loaded, so a move also bumps the tile it left) and of categories, and
to post_migrate (SQLite R*Tree triggers). Writes that send no signal (QuerySet.update,
bulk_create, raw SQL) must call invalidate_all() or bump the tiles with bump_location().

Redis out of reach (config.cache): the stamps are shared state, so while this process answers
from its own memory it computes every tile and caches none; a process that found Redis out of
reach starts a new generation when it answers again, since the bumps it made meanwhile are lost
and Redis may still hold tiles from before.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS
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
    QuerySet,
)
from django.db.models.signals import post_delete, post_init, post_migrate, post_save
from django.db.models.sql.compiler import SQLCompiler
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone, translation

from authorities.exceptions import UnknownCategory
from authorities.models import Category
from config import cache as shared_cache
from config import params, replica
from config.aftercommit import after_commit
from config.errors import ApplicationError
from config.jsonapi import endpoint
from config.params import Box
from config.replica import replica_reads

from . import spatial_index
from .models import HIDDEN_STATES, Report, ReportState

GRID = 8  # cells per tile side
MAX_GRID_ZOOM = 20  # finer cells would be smaller than a GPS fix
STREET_ZOOM = 17  # from here, sparse tiles show every report
MAX_TILES = 24  # a 2560x1440 viewport touches at most 6x4 tiles
MAX_FEATURES = MAX_TILES * GRID * GRID
MAX_ZOOM_PARAM = 30
MAX_AGE_DAYS = 100 * 365

DATA_TTL = 24 * 3600  # unreachable entries (old versions) go within a day
VERSION_TTL = 7 * 24 * 3600
CATEGORY_TTL = 300
LOCAL_TILES = 1000  # tiles kept per process; at most 64 features each

GEN_KEY = "map:gen"
CATEGORIES_KEY = "map:categories"
_FORMAT = "2"  # change when the cached tile layout changes

STATE_GROUPS: dict[str, tuple[str, ...]] = {
    "open": (ReportState.OPEN, ReportState.VERIFIED, ReportState.IN_PROGRESS),
    "fixed": (ReportState.FIXED, ReportState.CLOSED),
    "all": tuple(s for s in ReportState.values if s not in HIDDEN_STATES),
}

TileKey = tuple[int, int]
IndexRange = tuple[int, int, int, int]  # x0, y0, x1, y1, inclusive
# A tile: its features as JSON text joined by commas, in (cell row, cell column) order; each
# feature's cell within the tile (row * GRID + column, one byte each); and where each feature
# starts in the text (int32s, plus one past the end). A hit unpickles three objects, not one
# per feature, and clipping slices whole rows of cells out of the text.
Tile = tuple[str, bytes, bytes]


class InvalidMapQuery(ApplicationError):
    """A bad bbox, zoom or filter in a map request: shown to the caller as HTTP 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapFilters:
    categories: tuple[int, ...] = ()
    state: str = "all"
    max_age_days: int | None = None

    @classmethod
    def from_query(cls, query: QueryDict) -> MapFilters:
        return parse_filters(query)

    @property
    def states(self) -> tuple[str, ...]:
        return STATE_GROUPS[self.state]

    def cutoff(self, now: datetime | None = None) -> datetime | None:
        """The oldest creation time shown. Rounded down to the hour so cached tiles are shared
        for an hour: a report is shown for up to an hour past the age limit."""
        if self.max_age_days is None:
            return None
        hour = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
        return hour - timedelta(days=self.max_age_days)

    def apply(self, reports: QuerySet[Report], now: datetime | None = None) -> QuerySet[Report]:
        reports = reports.filter(state__in=self.states)
        if self.categories:
            reports = reports.filter(category_id__in=self.categories)
        cutoff = self.cutoff(now)
        if cutoff is not None:
            reports = reports.filter(created_at__gte=cutoff)
        return reports

    def cache_token(self, now: datetime, language: str | None = None) -> str:
        cutoff = self.cutoff(now)
        text = f"{self.state}|{sorted(self.categories)}|{cutoff.isoformat() if cutoff else ''}"
        return hashlib.blake2b(f"{text}|{language}".encode(), digest_size=6).hexdigest()


def parse_filters(query: QueryDict) -> MapFilters:
    """MapFilters from a query string; raises InvalidMapQuery for anything it cannot use."""
    state = query.get("state", "").strip() or "all"
    if state not in STATE_GROUPS:
        raise InvalidMapQuery(
            "invalid_state", f"state must be one of {', '.join(STATE_GROUPS)}, not {state!r}."
        )
    return MapFilters(
        categories=_parse_categories(query.getlist("category")),
        state=state,
        max_age_days=_parse_age(query.get("age", "")),
    )


def _parse_categories(values: Sequence[str]) -> tuple[int, ...]:
    slugs = {slug.strip() for value in values for slug in value.split(",") if slug.strip()}
    if not slugs:
        return ()
    known = category_ids()
    unknown = sorted(slugs - known.keys())
    if unknown:
        raise UnknownCategory(unknown[0])
    return tuple(sorted(known[slug] for slug in slugs))


def _parse_age(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return params.whole_number(text, "age", minimum=1, maximum=MAX_AGE_DAYS)
    except params.InvalidParameter:
        raise InvalidMapQuery(
            "invalid_age", "age must be a whole number of days, 1 or more."
        ) from None


def category_ids() -> dict[str, int]:
    """Category slug -> id, cached (categories change rarely; a change clears it)."""
    if shared_cache.unreachable():  # another process's change could not clear it
        return dict(Category.objects.values_list("slug", "id"))
    found: dict[str, int] | None = cache.get(CATEGORIES_KEY)
    if found is None:
        found = dict(Category.objects.values_list("slug", "id"))
        cache.set(CATEGORIES_KEY, found, CATEGORY_TTL)
    return found


# --- request parsing -------------------------------------------------------------------------


def parse_zoom(text: str | None) -> int:
    try:
        zoom = params.finite_number(text or "", "zoom", minimum=0, maximum=MAX_ZOOM_PARAM)
    except params.InvalidParameter:
        raise InvalidMapQuery(
            "invalid_zoom", f"Give zoom as a number between 0 and {MAX_ZOOM_PARAM}."
        ) from None
    return math.floor(zoom)


# --- the grid --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    zoom: int

    @property
    def cell(self) -> float:
        return 90.0 / 2**self.zoom

    def cell_of(self, lat: float, lon: float) -> TileKey:
        # The same expression as _CellIndex in SQL: a report is in one cell on every database.
        return math.floor((lon + 180.0) / self.cell), math.floor((lat + 90.0) / self.cell)

    def tile_of(self, lat: float, lon: float) -> TileKey:
        cx, cy = self.cell_of(lat, lon)
        return cx // GRID, cy // GRID

    def cells(self, box: Box) -> IndexRange:
        """The cell index range (x0, y0, x1, y1) of the cells intersecting a box."""
        x0, y0 = self.cell_of(box[1], box[0])
        x1, y1 = self.cell_of(box[3], box[2])
        return x0, y0, x1, y1

    def tile_range(self, box: Box) -> IndexRange:
        x0, y0, x1, y1 = self.cells(box)
        return x0 // GRID, y0 // GRID, x1 // GRID, y1 // GRID

    def tile_count(self, box: Box) -> int:
        # Counted, not listed: a world box at zoom 20 has 10**11 tiles.
        x0, y0, x1, y1 = self.tile_range(box)
        return (x1 - x0 + 1) * (y1 - y0 + 1)

    def tiles(self, box: Box) -> list[TileKey]:
        x0, y0, x1, y1 = self.tile_range(box)
        return [(tx, ty) for ty in range(y0, y1 + 1) for tx in range(x0, x1 + 1)]

    def tile_box(self, tiles: Iterable[TileKey]) -> Box:
        """The area of a set of tiles' bounding rectangle, with a margin against rounding: which
        tile a report belongs to is decided by its cell index, never by this box."""
        xs, ys = zip(*tiles, strict=True)
        span, margin = self.cell * GRID, self.cell / 64
        return (
            min(xs) * span - 180.0 - margin,
            min(ys) * span - 90.0 - margin,
            (max(xs) + 1) * span - 180.0 + margin,
            (max(ys) + 1) * span - 90.0 + margin,
        )


def grid_for(box: Box, zoom: int) -> Grid:
    """The finest grid, at most the map's zoom, on which the box touches at most MAX_TILES."""
    grid = Grid(min(zoom, MAX_GRID_ZOOM))
    while grid.zoom > 0 and grid.tile_count(box) > MAX_TILES:
        grid = Grid(grid.zoom - 1)
    return grid


# --- SQL -------------------------------------------------------------------------------------


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
    for row in _cell_counts(grid, grid.tile_box(wanted), filters, now):
        tile = (row["cx"] // GRID, row["cy"] // GRID)
        if tile in cells:  # the box's margin reaches into neighbouring tiles
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


# --- the cache -------------------------------------------------------------------------------


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


# --- the selector and the view ---------------------------------------------------------------


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


# --- keeping the cache fresh -----------------------------------------------------------------

_LOADED_AT = "_mapdata_loaded_at"


def connect_signals() -> None:
    """Connect the receivers that keep cached tiles fresh. Idempotent."""
    post_init.connect(_remember_location, sender=Report, dispatch_uid="mapdata-report-init")
    post_save.connect(_on_report_saved, sender=Report, dispatch_uid="mapdata-report-saved")
    post_delete.connect(_on_report_deleted, sender=Report, dispatch_uid="mapdata-report-deleted")
    post_save.connect(_on_category_changed, sender=Category, dispatch_uid="mapdata-cat-saved")
    post_delete.connect(_on_category_changed, sender=Category, dispatch_uid="mapdata-cat-deleted")
    post_migrate.connect(_on_post_migrate, dispatch_uid="mapdata-repair-rtree")
    # Tile bumps this process made while Redis was out of reach are lost: start a new generation.
    shared_cache.reconnected.connect(_on_cache_back, dispatch_uid="mapdata-cache-back")


def _on_cache_back(**_: Any) -> None:
    invalidate_all()


def _remember_location(instance: Report, **_: Any) -> None:
    # Where the report was when loaded: if it moves, the tile it leaves must be bumped too.
    values = instance.__dict__
    if "latitude" in values and "longitude" in values:
        values[_LOADED_AT] = (values["latitude"], values["longitude"])


def _locations(report: Report) -> set[tuple[float, float]]:
    places = {(report.latitude, report.longitude)}
    loaded_at = report.__dict__.get(_LOADED_AT)  # where it was when loaded: a move leaves a tile
    if loaded_at is not None:
        places.add((float(loaded_at[0]), float(loaded_at[1])))
    return places


def _bump_after_commit(places: Iterable[tuple[float, float]], using: str | None) -> None:
    # After commit: a tile recomputed before then would not see the change, and would be kept.
    after_commit(bump_locations, sorted(places), using=using)


def on_state_changed(report: Report) -> None:
    """On report_state_changed (reports.apps): the report's tiles, and those it left."""
    _bump_after_commit(_locations(report), report._state.db)


def bump_reports_after_commit(reports: Iterable[Report]) -> None:
    """For reports whose tiles were not bumped when they were filed (reports.followups)."""
    places = {place for report in reports for place in _locations(report)}
    _bump_after_commit(places, DEFAULT_DB_ALIAS)


def _on_report_saved(
    instance: Report, using: str, created: bool = False, raw: bool = False, **_: Any
) -> None:
    if raw:  # loaddata: no signals-driven side effects
        return
    if not created:  # a new report is bumped when its first state is announced, in the same
        # transaction (reports.services.report_create, the only way reports are made)
        _bump_after_commit(_locations(instance), using)
    instance.__dict__[_LOADED_AT] = (instance.latitude, instance.longitude)


def _on_report_deleted(instance: Report, using: str, **_: Any) -> None:
    if instance.state not in HIDDEN_STATES:
        _bump_after_commit(_locations(instance), using)


def _on_category_changed(using: str, **_: Any) -> None:
    after_commit(invalidate_all, using=using)


def _on_post_migrate(sender: Any, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    if getattr(sender, "label", None) == "reports":
        spatial_index.repair_spatial_index(using)
