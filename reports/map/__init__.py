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

Rollup. That GROUP BY reads every report under the tile: seconds at city zoom over 10M reports. So
on PostgreSQL the counts are kept per cell (reports.MapCell: grid zoom 0..18, cell, category, state
group; the count, the sums of latitude, longitude and id) by statement-level triggers on
reports_report, in the same transaction as every write, and a tile at grid zoom ROLLUP_ZOOM (18,
the map's last) or coarser without an age filter sums its cells' rows instead (``rollup``: why
statement-level, the lock order, why the cell arithmetic matches). The answer is the same, feature
for feature; an age filter, a finer grid or SQLite takes the live GROUP BY. The triggers see every
write (services, admin, QuerySet.update, raw SQL); a load with triggers off (COPY with
session_replication_role = replica) must call rollup.map_rollup_rebuild() afterwards.

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

Modules: ``query`` (parameters, filters, limits), ``grid`` (tiles and cells), ``tiles`` (the
SQL and the cache), ``rollup`` (the counts per cell PostgreSQL keeps: its SQL, its rebuild and
its read), ``views`` (the selector and the view), ``receivers`` (keeping the cache fresh).
May import: the core of ``reports`` (models, spatial_index), ``authorities``, ``config``.
"""

from .grid import Grid, grid_for
from .query import MAX_FEATURES, InvalidMapQuery, MapFilters, parse_filters, parse_zoom
from .receivers import bump_reports_after_commit, connect_signals, on_state_changed
from .tiles import bump_location, bump_locations, invalidate_all
from .views import viewport, viewport_json

__all__ = [
    "MAX_FEATURES",
    "Grid",
    "InvalidMapQuery",
    "MapFilters",
    "bump_location",
    "bump_locations",
    "bump_reports_after_commit",
    "connect_signals",
    "grid_for",
    "invalidate_all",
    "on_state_changed",
    "parse_filters",
    "parse_zoom",
    "viewport",
    "viewport_json",
]
