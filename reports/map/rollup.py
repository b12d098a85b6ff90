"""The map's rollup (reports.MapCell): the public reports counted per grid cell, kept exact by
PostgreSQL on every write, and read for a tile's clusters instead of grouping the reports.

Why. A tile's GROUP BY reads every report under it: at 10M reports a city-zoom viewport read
millions of rows (6.5 s cold). The rollup holds one row per (grid zoom 0..18, cell x, cell y,
category, state group), so a tile's clusters are a sum over at most its 64 cells' rows
(categories x state groups each), whatever the number of reports.

What a row holds: the count, the sums of latitude and longitude (a cluster is placed at their
mean, as the live query's AVG places it) and the sum of the ids (a cell of one report gives the
report: its id is the sum, and a sum, unlike a minimum, stays exact when a report leaves).
Only reports Report.objects.public() shows count (never unconfirmed, spam or private); the
state group is the map's state filter (query.STATE_GROUPS): 1 open, 2 fixed, 3 the other public
states, so "all" sums the three. The age filter cannot be rolled up; a request with one, a grid
finer than ROLLUP_ZOOM, or SQLite takes the live query (tiles._cell_counts).

How it is kept: three statement-level AFTER triggers on reports_report (INSERT, UPDATE, DELETE)
with transition tables. Each turns its statement's rows into a delta (+1 with the new values of
a row that enters or moves, -1 with the old values of one that leaves or moves; an update that
changes none of position, category, state group or visibility adds nothing), sums it per cell
at every grid zoom, applies it with one INSERT ... ON CONFLICT DO UPDATE, and deletes the rows
it brought to 0. The triggers also catch every way of writing (services, the admin, bulk
updates); COPY with session_replication_role = replica skips them, so the bench seeding calls
map_rollup_rebuild() afterwards.

Why statement-level, and the lock order. Every report of a category and state group shares its
coarse cells' rows, so writers meet on them. A row-level trigger would upsert per report, taking
those row locks in the order of the statement's rows: two transactions writing the same cells in
different orders (a bulk update, a batch of filings) could each hold a row the other waits for,
a deadlock. Here one statement's changes are one upsert whose rows are sorted by the primary key
(zoom, x, y, category, state group), so every transaction takes them in the same order: one
waits for the other instead. (A transaction making several writes still holds each statement's
cells until it commits, as it holds the statistics rollup's day rows.) A bulk update of
thousands of reports also costs one upsert per cell, not one per report and zoom.

Arithmetic. A report's cell at zoom 18 is floor((lon + 180) / (90 / 2**18)) in IEEE doubles, as
grid.Grid.cell_of computes it; a coarser zoom's is that index shifted right by the difference.
Dividing by a power of two is exact in binary floating point, and floor(t / 2**k) is
floor(t) >> k for t >= 0, so the shift gives exactly grid.py's floor at that zoom.

The SQL here is the current version; migration 0027 installed its own copy, as written then.
May import: reports.models, the map's query and grid modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connections, transaction
from django.db.models import Max, Sum

from reports.models import HIDDEN_STATES, MapCell

from .grid import Grid
from .query import GRID, STATE_GROUPS, MapFilters, TileKey

# The finest grid the citizens' map asks for (Leaflet's last zoom, 18). API clients may ask for
# finer grids (up to query.MAX_GRID_ZOOM): those take the live query over their small box.
ROLLUP_ZOOM = 18
# The state group of a public report; any public state in neither group counts as OTHER.
STATE_GROUP = {"open": 1, "fixed": 2}
OTHER = 3


def _quoted(states: Sequence[str]) -> str:
    return ", ".join(f"'{state}'" for state in sorted(states))


_SQL_VALUES = {
    "hidden": _quoted(sorted(HIDDEN_STATES)),
    "open": _quoted(STATE_GROUPS["open"]),
    "fixed": _quoted(STATE_GROUPS["fixed"]),
    "zoom": ROLLUP_ZOOM,
}

# The delta of one statement, per cell and zoom, applied in key order (see the docstring); the
# cells it emptied are deleted afterwards (the same statement cannot delete a row it updated).
_APPLY = """
  WITH cells AS (
    SELECT z AS zoom, fine.x >> (%(zoom)s - z) AS x, fine.y >> (%(zoom)s - z) AS y,
           fine.category_id, fine.state_group, sum(fine.n)::integer AS n,
           sum(fine.n * fine.latitude) AS latitude_sum,
           sum(fine.n * fine.longitude) AS longitude_sum, sum(fine.n * fine.id)::bigint AS id_sum
    FROM (
      SELECT floor((d.longitude + 180.0::float8) / (90.0::float8 / (1 << %(zoom)s)))::integer AS x,
             floor((d.latitude + 90.0::float8) / (90.0::float8 / (1 << %(zoom)s)))::integer AS y,
             d.category_id, d.state_group, d.n, d.latitude, d.longitude, d.id
      FROM (%(delta)s) AS d(latitude, longitude, category_id, state_group, n, id)
    ) AS fine CROSS JOIN generate_series(0, %(zoom)s) AS z
    GROUP BY 1, 2, 3, 4, 5
  ), applied AS (
    INSERT INTO reports_mapcell AS m
      (zoom, x, y, category_id, state_group, n, latitude_sum, longitude_sum, id_sum)
    SELECT * FROM cells WHERE n <> 0 OR latitude_sum <> 0 OR longitude_sum <> 0
    ORDER BY zoom, x, y, category_id, state_group
    ON CONFLICT (zoom, x, y, category_id, state_group) DO UPDATE
    SET n = m.n + EXCLUDED.n, latitude_sum = m.latitude_sum + EXCLUDED.latitude_sum,
        longitude_sum = m.longitude_sum + EXCLUDED.longitude_sum,
        id_sum = m.id_sum + EXCLUDED.id_sum
    RETURNING m.zoom, m.x, m.y, m.category_id, m.state_group, m.n
  )
  SELECT array_agg(zoom), array_agg(x), array_agg(y), array_agg(category_id),
         array_agg(state_group)
  INTO zs, xs, ys, cs, gs FROM applied WHERE n = 0;
  IF zs IS NOT NULL THEN
    DELETE FROM reports_mapcell m
    USING unnest(zs, xs, ys, cs, gs) AS e(zoom, x, y, category_id, state_group)
    WHERE m.zoom = e.zoom AND m.x = e.x AND m.y = e.y AND m.category_id = e.category_id
      AND m.state_group = e.state_group AND m.n = 0;
  END IF;
  RETURN NULL;
"""

_DECLARE = "DECLARE zs smallint[]; xs integer[]; ys integer[]; cs bigint[]; gs smallint[];"

# Rows of (latitude, longitude, category_id, state_group, n, id).
_INSERTED = """
SELECT r.latitude, r.longitude, r.category_id, fixpoint_map_group(r.state, r.is_private), 1, r.id
FROM new_rows r WHERE fixpoint_map_group(r.state, r.is_private) IS NOT NULL
"""
_DELETED = """
SELECT r.latitude, r.longitude, r.category_id, fixpoint_map_group(r.state, r.is_private), -1, r.id
FROM old_rows r WHERE fixpoint_map_group(r.state, r.is_private) IS NOT NULL
"""
_UPDATED = """
SELECT c.latitude, c.longitude, c.category_id, c.state_group, c.n, c.id
FROM old_rows o JOIN new_rows r ON r.id = o.id
CROSS JOIN LATERAL (VALUES
  (o.latitude, o.longitude, o.category_id, fixpoint_map_group(o.state, o.is_private), -1, o.id),
  (r.latitude, r.longitude, r.category_id, fixpoint_map_group(r.state, r.is_private), 1, r.id)
) AS c(latitude, longitude, category_id, state_group, n, id)
WHERE c.state_group IS NOT NULL
  AND (o.latitude, o.longitude, o.category_id, fixpoint_map_group(o.state, o.is_private))
      IS DISTINCT FROM
      (r.latitude, r.longitude, r.category_id, fixpoint_map_group(r.state, r.is_private))
"""

_GROUP = """
CREATE OR REPLACE FUNCTION fixpoint_map_group(p_state text, p_private boolean) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (CASE WHEN p_private OR p_state IN (%(hidden)s) THEN NULL
               WHEN p_state IN (%(open)s) THEN 1 WHEN p_state IN (%(fixed)s) THEN 2
               ELSE 3 END)::smallint
$$;
"""

_FUNCTIONS = (
    _GROUP % _SQL_VALUES
    + "".join(
        f"""
CREATE OR REPLACE FUNCTION fixpoint_map_{event}() RETURNS trigger
LANGUAGE plpgsql AS $$
{_DECLARE}
BEGIN
{_APPLY % {**_SQL_VALUES, "delta": delta}}
END $$;
"""
        for event, delta in (("inserted", _INSERTED), ("updated", _UPDATED), ("deleted", _DELETED))
    )
    + """
DROP TRIGGER IF EXISTS fixpoint_map_insert ON reports_report;
CREATE TRIGGER fixpoint_map_insert AFTER INSERT ON reports_report
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_map_inserted();
DROP TRIGGER IF EXISTS fixpoint_map_update ON reports_report;
CREATE TRIGGER fixpoint_map_update AFTER UPDATE ON reports_report
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_map_updated();
DROP TRIGGER IF EXISTS fixpoint_map_delete ON reports_report;
CREATE TRIGGER fixpoint_map_delete AFTER DELETE ON reports_report
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_map_deleted();
"""
)

_DROP = """
DROP TRIGGER IF EXISTS fixpoint_map_insert ON reports_report;
DROP TRIGGER IF EXISTS fixpoint_map_update ON reports_report;
DROP TRIGGER IF EXISTS fixpoint_map_delete ON reports_report;
DROP FUNCTION IF EXISTS fixpoint_map_inserted();
DROP FUNCTION IF EXISTS fixpoint_map_updated();
DROP FUNCTION IF EXISTS fixpoint_map_deleted();
DROP FUNCTION IF EXISTS fixpoint_map_group(text, boolean);
"""

# Reports are summed per finest (ROLLUP_ZOOM) cell first, and the coarser zooms from those sums
# (the shift is exact, see the docstring): one pass over the reports instead of one per zoom.
# Written in key order, so a tile's rows lie together in the table.
_REBUILD = """
INSERT INTO reports_mapcell
  (zoom, x, y, category_id, state_group, n, latitude_sum, longitude_sum, id_sum)
SELECT z, fine.x >> (%(zoom)s - z), fine.y >> (%(zoom)s - z), fine.category_id,
       fine.state_group, sum(fine.n), sum(fine.latitude_sum), sum(fine.longitude_sum),
       sum(fine.id_sum)::bigint
FROM (
  SELECT floor((longitude + 180.0::float8) / (90.0::float8 / (1 << %(zoom)s)))::integer AS x,
         floor((latitude + 90.0::float8) / (90.0::float8 / (1 << %(zoom)s)))::integer AS y,
         category_id, fixpoint_map_group(state, is_private) AS state_group, count(*) AS n,
         sum(latitude) AS latitude_sum, sum(longitude) AS longitude_sum, sum(id) AS id_sum
  FROM reports_report WHERE fixpoint_map_group(state, is_private) IS NOT NULL
  GROUP BY 1, 2, 3, 4
) AS fine CROSS JOIN generate_series(0, %(zoom)s) AS z
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5
"""


def map_rollup_install(using: str = "default") -> None:
    """(Re)create the rollup's functions and triggers, then rebuild it."""
    map_rollup_functions_install(using=using)
    map_rollup_rebuild(using=using)


def map_rollup_functions_install(using: str = "default") -> None:
    """(Re)create the functions and triggers only: for a new version of them, same counts."""
    with connections[using].cursor() as cursor:
        cursor.execute(_FUNCTIONS)


def map_rollup_uninstall(using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(_DROP)


def map_rollup_rebuild(using: str = "default") -> int:
    """Count every cell again from the reports (after a bulk load with triggers off). The lock
    makes writers wait, so none of their changes is lost or counted twice; readers keep reading
    the old rows until the commit (DELETE, not TRUNCATE). Returns the number of rows."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("LOCK TABLE reports_mapcell IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM reports_mapcell")
        # Millions of reports make millions of cells: hashed in memory rather than on disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(_REBUILD % _SQL_VALUES)
        return cursor.rowcount


def rollup_serves(grid: Grid, filters: MapFilters, using: str) -> bool:
    """Whether the rollup answers this grid and these filters on this database."""
    return (
        grid.zoom <= ROLLUP_ZOOM
        and filters.max_age_days is None
        and connections[using].vendor == "postgresql"
    )


def rollup_cell_counts(
    grid: Grid, tiles: Sequence[TileKey], filters: MapFilters
) -> list[Mapping[str, Any]]:
    """The cells of the tiles with reports matching the filters, as the live query gives them:
    cx, cy, n, lat and lon (the mean position) and first (the report's id when n is 1). May
    include cells of other tiles in the same columns and rows."""
    columns = sorted({tx * GRID + i for tx, _ in tiles for i in range(GRID)})
    rows = [ty for _, ty in tiles]
    cells = MapCell.objects.filter(
        zoom=grid.zoom, x__in=columns, y__range=(min(rows) * GRID, max(rows) * GRID + GRID - 1)
    )
    if filters.state in STATE_GROUP:
        cells = cells.filter(state_group=STATE_GROUP[filters.state])
    if filters.categories:
        cells = cells.filter(category_id__in=filters.categories)
    sums = (
        cells.values("x", "y")
        .annotate(
            total=Sum("n"),
            lat=Sum("latitude_sum"),
            lon=Sum("longitude_sum"),
            # Every row counts at least one report, so a cell of one report has one row: its
            # id_sum is the id. (A maximum of bigints is cheaper than their numeric sum.)
            lone=Max("id_sum"),
        )
        .order_by()
    )
    return [
        {
            "cx": row["x"],
            "cy": row["y"],
            "n": row["total"],
            "lat": row["lat"] / row["total"],
            "lon": row["lon"] / row["total"],
            "first": row["lone"] if row["total"] == 1 else None,
        }
        for row in sums
        if row["total"] > 0
    ]
