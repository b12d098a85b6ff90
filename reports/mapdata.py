"""The citizens' map: reports for a viewport, clustered on the server, cached per tile.

GET /map/reports.json?bbox=w,s,e,n&zoom=Z[&category=slug,...][&state=open|fixed|all][&age=days]
returns a GeoJSON FeatureCollection. Each feature is either a cluster (properties
`{"cluster": true, "count": N}`, placed at the mean position of its reports) or one report
(`ref`, `title`, `state`, `category`, `colour`, `url`).

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

Caching. Tile results go to Django's cache (Redis in production) under
`map:tile:{g}:{tx}:{ty}:{generation}:{tile version}:{filters}`. The tile version lives under its
own key `map:ver:{g}:{tx}:{ty}` and is replaced by a fresh random token, after the transaction
commits, for the tile containing a report at every grid zoom whenever the report is saved,
changes state or is deleted (and for the tile it was in before, if it moved): an old entry is
never read again and expires. A missing version (never set, evicted) is simply given a new
token, which can only cost a recomputation, never serve stale data, because a tile is always
computed after its version was read. The generation token (`map:gen`) is replaced when a category
changes (its slug or colour is inside cached tiles) and by invalidate_all() (e.g. after restoring
a database). Filters are part of the key; the age cut-off is rounded down to the hour so that
entries are shared for an hour. A cache hit costs two cache round trips and no query; a miss
costs one grouped query plus, when there are single reports, one query for their details, for
all missing tiles of the request together.

Freshness needs connect_signals() to have run (reports.apps.ReportsConfig.ready calls it): it
listens to report_state_changed and to saves and deletes of reports and categories. Writes that
send no signal (QuerySet.update, bulk_create, raw SQL) must call invalidate_all() or bump the
tiles with bump_location().
"""

from __future__ import annotations

import hashlib
import importlib
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
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
from django.http import HttpRequest, JsonResponse, QueryDict
from django.utils import timezone
from django.views.decorators.http import require_GET

from authorities.models import Category
from config.errors import ApplicationError

from .models import HIDDEN_STATES, Report, ReportState
from .signals import report_state_changed

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

GEN_KEY = "map:gen"
CATEGORIES_KEY = "map:categories"
_FORMAT = "1"  # change when the cached tile layout changes

STATE_GROUPS: dict[str, tuple[str, ...]] = {
    "open": (ReportState.OPEN, ReportState.VERIFIED, ReportState.IN_PROGRESS),
    "fixed": (ReportState.FIXED, ReportState.CLOSED),
    "all": tuple(s for s in ReportState.values if s not in HIDDEN_STATES),
}

Box = tuple[float, float, float, float]  # west, south, east, north
TileKey = tuple[int, int]
IndexRange = tuple[int, int, int, int]  # x0, y0, x1, y1, inclusive
Tile = list[tuple[int, int, dict[str, Any]]]  # (cell x, cell y, GeoJSON feature)


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

    def cache_token(self, now: datetime) -> str:
        cutoff = self.cutoff(now)
        text = f"{self.state}|{sorted(self.categories)}|{cutoff.isoformat() if cutoff else ''}"
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


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
        raise InvalidMapQuery("unknown_category", f"There is no category {unknown[0]!r}.")
    return tuple(sorted(known[slug] for slug in slugs))


def _parse_age(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_AGE_DAYS:
        raise InvalidMapQuery("invalid_age", "age must be a whole number of days, 1 or more.")
    return int(text)


def category_ids() -> dict[str, int]:
    """Category slug -> id, cached (categories change rarely; a change clears it)."""
    found: dict[str, int] | None = cache.get(CATEGORIES_KEY)
    if found is None:
        found = dict(Category.objects.values_list("slug", "id"))
        cache.set(CATEGORIES_KEY, found, CATEGORY_TTL)
    return found


# --- request parsing -------------------------------------------------------------------------


def parse_bbox(text: str | None) -> Box:
    """west,south,east,north in degrees; clamped to the world, refused when inside out."""
    if not text:
        raise InvalidMapQuery("invalid_bbox", "Give bbox=west,south,east,north in degrees.")
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidMapQuery(
            "invalid_bbox", "bbox must be four numbers: west,south,east,north in degrees."
        ) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise InvalidMapQuery("invalid_bbox", "bbox must be four finite numbers.")
    if west > east or south > north:
        raise InvalidMapQuery(
            "invalid_bbox", "bbox must be west,south,east,north with west <= east, south <= north."
        )
    # A zoomed-out map repeats the world sideways; anything past its edges is clamped, not refused.
    return (_clamp(west, 180), _clamp(south, 90), _clamp(east, 180), _clamp(north, 90))


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


def parse_zoom(text: str | None) -> int:
    try:
        zoom = float(text or "")
    except ValueError:
        raise InvalidMapQuery("invalid_zoom", "Give zoom as a number (the map's zoom).") from None
    if not 0 <= zoom <= MAX_ZOOM_PARAM:  # also false for NaN
        raise InvalidMapQuery("invalid_zoom", f"zoom must be between 0 and {MAX_ZOOM_PARAM}.")
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
        filters.apply(Report.objects.all(), now)
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
    expand = {
        tile
        for tile, rows in cells.items()
        if grid.zoom >= STREET_ZOOM and sum(r["n"] for r in rows) <= GRID * GRID
    }
    ids = [r["first"] for t, rows in cells.items() if t not in expand for r in rows if r["n"] == 1]
    singles = _singles(grid, ids, expand, filters, now)
    tiles: dict[TileKey, Tile] = {tile: [] for tile in wanted}
    for tile, rows in cells.items():
        if tile not in expand:
            tiles[tile] = [_cell_feature(r, singles) for r in rows]
    for cx, cy, feature in singles.values():  # the reports of expanded tiles
        tiles[cx // GRID, cy // GRID].append((cx, cy, feature))
    for features in tiles.values():
        features.sort(key=_feature_order)
    return tiles


def _singles(
    grid: Grid, ids: list[int], expand: set[TileKey], filters: MapFilters, now: datetime
) -> dict[int, tuple[int, int, dict[str, Any]]]:
    """Report features by id: those with the given ids and every report of the expanded tiles."""
    if not ids and not expand:
        return {}
    where = Q(pk__in=ids)
    for tile in expand:
        west, south, east, north = grid.tile_box([tile])
        where |= Q(latitude__range=(south, north), longitude__range=(west, east))
    reports = (
        filters.apply(Report.objects.all(), now)
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


def _feature_order(item: tuple[int, int, dict[str, Any]]) -> tuple[int, int, str]:
    return item[1], item[0], item[2]["properties"].get("ref", "")


# --- the cache -------------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_hex(6)


def _version_key(zoom: int, tile: TileKey) -> str:
    return f"map:ver:{zoom}:{tile[0]}:{tile[1]}"


def _versions(keys: Sequence[str]) -> dict[str, str]:
    """Current tokens for these keys, giving a fresh one to any the cache does not hold."""
    found: dict[str, str] = cache.get_many(keys)
    fresh = {key: _new_token() for key in keys if key not in found}
    if fresh:
        cache.set_many(fresh, VERSION_TTL)
        found.update(fresh)
    return found


def _tiles(grid: Grid, tiles: Sequence[TileKey], filters: MapFilters) -> dict[TileKey, Tile]:
    now = timezone.now()
    version_keys = {tile: _version_key(grid.zoom, tile) for tile in tiles}
    versions = _versions([GEN_KEY, *version_keys.values()])
    prefix = f"map:tile:{_FORMAT}:{grid.zoom}"
    suffix = f"{versions[GEN_KEY]}:{filters.cache_token(now)}"
    keys = {t: f"{prefix}:{t[0]}:{t[1]}:{versions[version_keys[t]]}:{suffix}" for t in tiles}
    cached = cache.get_many(list(keys.values()))
    found = {tile: cached[key] for tile, key in keys.items() if key in cached}
    missing = [tile for tile in tiles if tile not in found]
    if missing:
        computed = _compute_tiles(grid, missing, filters, now)
        cache.set_many({keys[tile]: computed[tile] for tile in missing}, DATA_TTL)
        found.update(computed)
    return found


def bump_location(latitude: float, longitude: float) -> None:
    """Give the tiles containing this point, at every grid zoom, new versions (now)."""
    keys = [_version_key(z, Grid(z).tile_of(latitude, longitude)) for z in range(MAX_GRID_ZOOM + 1)]
    cache.set_many({key: _new_token() for key in keys}, VERSION_TTL)


def invalidate_all() -> None:
    """Forget every cached tile and the category table (e.g. after restoring a database)."""
    cache.set(GEN_KEY, _new_token(), None)
    cache.delete(CATEGORIES_KEY)


# --- the selector and the view ---------------------------------------------------------------


def viewport(
    *, west: float, south: float, east: float, north: float, zoom: int, filters: MapFilters
) -> dict[str, Any]:
    """The FeatureCollection for a viewport: at most MAX_FEATURES clusters and reports."""
    box = (west, south, east, north)
    grid = grid_for(box, zoom)
    x0, y0, x1, y1 = grid.cells(box)
    tiles = _tiles(grid, grid.tiles(box), filters)
    features = [
        feature
        for tile in sorted(tiles, key=lambda t: (t[1], t[0]))
        for cx, cy, feature in tiles[tile]
        if x0 <= cx <= x1 and y0 <= cy <= y1
    ]
    return {"type": "FeatureCollection", "features": features}


@require_GET
def viewport_json(request: HttpRequest) -> JsonResponse:
    """GET /map/reports.json?bbox=w,s,e,n&zoom=Z[&category=..][&state=..][&age=..]"""
    try:
        west, south, east, north = parse_bbox(request.GET.get("bbox"))
        zoom = parse_zoom(request.GET.get("zoom"))
        filters = parse_filters(request.GET)
    except InvalidMapQuery as exc:
        return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=400)
    collection = viewport(
        west=west, south=south, east=east, north=north, zoom=zoom, filters=filters
    )
    _add_state_labels(collection["features"])
    return JsonResponse(collection)


def _add_state_labels(features: list[dict[str, Any]]) -> None:
    # In the request's language, so never cached with the tiles.
    labels = {value: str(label) for value, label in ReportState.choices}
    for feature in features:
        properties = feature["properties"]
        if not properties["cluster"]:
            properties["state_label"] = labels.get(properties["state"], properties["state"])


# --- keeping the cache fresh -----------------------------------------------------------------

_LOADED_AT = "_mapdata_loaded_at"


def connect_signals() -> None:
    """Connect the receivers that keep cached tiles fresh. Idempotent."""
    report_state_changed.connect(_on_state_changed, dispatch_uid="mapdata-state-changed")
    post_init.connect(_remember_location, sender=Report, dispatch_uid="mapdata-report-init")
    post_save.connect(_on_report_saved, sender=Report, dispatch_uid="mapdata-report-saved")
    post_delete.connect(_on_report_deleted, sender=Report, dispatch_uid="mapdata-report-deleted")
    post_save.connect(_on_category_changed, sender=Category, dispatch_uid="mapdata-cat-saved")
    post_delete.connect(_on_category_changed, sender=Category, dispatch_uid="mapdata-cat-deleted")
    post_migrate.connect(_on_post_migrate, dispatch_uid="mapdata-repair-rtree")


def _remember_location(instance: Report, **_: Any) -> None:
    # Where the report was when loaded: if it moves, the tile it leaves must be bumped too.
    values = instance.__dict__
    if "latitude" in values and "longitude" in values:
        values[_LOADED_AT] = (values["latitude"], values["longitude"])


def _locations(report: Report, previous: Any = None) -> set[tuple[float, float]]:
    places = {(report.latitude, report.longitude)}
    for place in (previous, report.__dict__.get(_LOADED_AT)):
        if place is not None:
            places.add((float(place[0]), float(place[1])))
    return places


def _bump_after_commit(places: Iterable[tuple[float, float]], using: str | None) -> None:
    def bump(places: list[tuple[float, float]]) -> None:
        for latitude, longitude in places:
            bump_location(latitude, longitude)

    # After commit: a tile recomputed before then would not see the change, and would be kept.
    transaction.on_commit(partial(bump, sorted(places)), using=using, robust=True)


def _on_state_changed(report: Report, previous_location: Any = None, **_: Any) -> None:
    _bump_after_commit(_locations(report, previous_location), report._state.db)


def _on_report_saved(instance: Report, using: str, raw: bool = False, **_: Any) -> None:
    if raw:  # loaddata: no signals-driven side effects
        return
    _bump_after_commit(_locations(instance), using)
    instance.__dict__[_LOADED_AT] = (instance.latitude, instance.longitude)


def _on_report_deleted(instance: Report, using: str, **_: Any) -> None:
    if instance.state not in HIDDEN_STATES:
        _bump_after_commit(_locations(instance), using)


def _on_category_changed(using: str, **_: Any) -> None:
    transaction.on_commit(invalidate_all, using=using, robust=True)


def _on_post_migrate(sender: Any, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    if getattr(sender, "label", None) == "reports":
        repair_spatial_index(using)


def repair_spatial_index(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Re-create the SQLite R*Tree's triggers if a table rebuild dropped them (Django's SQLite
    schema editor rebuilds reports_report for many ALTERs). Returns whether it had to."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    migration = importlib.import_module("reports.migrations.0002_report_spatial_index")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        if migration.RTREE not in present or present.issuperset(migration.TRIGGERS):
            return False
        migration.create_sqlite_triggers(cursor)
    return True
