"""Point-to-authority routing from an in-memory shapely STRtree.

Every process holds one RoutingIndex built from the database. A RoutingVersion row is bumped by
every change that routing depends on. A request (or Celery task) that starts a second or more
after the last check marks the index for one cheap version check, so a boundary edited in the
admin of one web node is followed by every node and worker within a second. The changing process
itself checks at once, again on commit, and at its next request.

Locality, used to pick "the" responsible authority, is: deeper in the parent tree first (a district
before its city), then smaller area first, then slug alphabetically. The last step makes points on
a shared border (covered by both neighbours) route the same way every time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from time import monotonic
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import shapely
from django.conf import settings
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import translation
from django.utils.translation import gettext as _
from shapely import STRtree

from config.compiled import CompiledQuery

from .boundary_store import Boundary, BoundaryStore
from .exceptions import CategoryNotOfferedHere, InvalidLocation, NoAuthorityHere, UnknownCategory

if TYPE_CHECKING:
    from django.db.models import Model

    from .models import Area, Authority, Category

logger = logging.getLogger(__name__)

BOUNDARY_CHUNK = 200  # boundaries parsed at once while the index is built
OFFER_SETS_KEPT = 10_000  # sets of covering authorities (times languages) whose offers are kept


Translations = tuple[tuple[str, str], ...]  # (language, text): one entry per language


def translated(texts: Translations, language: str | None = None) -> str:
    """The text in ``language`` (by default the active one), else in English (the index serves
    every language)."""
    by_language = dict(texts)
    return by_language.get(language or active_language()) or by_language.get("en") or ""


def active_language() -> str:
    return (translation.get_language() or "en").split("-")[0]


def translations_of(instance: Any, attribute: str) -> Translations:
    return tuple(
        (code, getattr(instance, f"{attribute}_{code}", None) or "")
        for code, _ in settings.LANGUAGES
    )


@dataclass(frozen=True)
class CategoryRef:
    id: int
    slug: str
    names: Translations
    groups: Translations
    colour: str
    icon: str

    @property
    def name(self) -> str:
        return translated(self.names)

    @property
    def group(self) -> str:
        return translated(self.groups)


@dataclass(frozen=True)
class AuthorityRef:
    id: int
    slug: str
    name: str
    kind: str
    depth: int
    area: float
    category_ids: frozenset[int]


@dataclass(frozen=True)
class AreaRef:
    id: int
    slug: str
    name: str
    kind: str


@dataclass(frozen=True)
class Offer:
    """A category offered at a point and the authority that would receive it."""

    category: CategoryRef
    authority: AuthorityRef

    def as_dict(self, language: str | None = None) -> dict[str, Any]:
        c, a = self.category, self.authority
        language = language or active_language()
        return {
            "slug": c.slug,
            "name": translated(c.names, language),
            "group": translated(c.groups, language),
            "authority": {"slug": a.slug, "name": a.name},
        }


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    authorities: tuple[AuthorityRef, ...]  # most local first
    offers: tuple[Offer, ...]  # by group, then name

    def as_dict(self) -> dict[str, Any]:
        """Who is responsible here, for what: the answer of GET /api/v1/locate."""
        language = active_language()
        return {
            "authorities": [
                {"slug": a.slug, "name": a.name, "kind": a.kind} for a in self.authorities
            ],
            "categories": [offer.as_dict(language) for offer in self.offers],
        }


Stamp = tuple[int, str]  # (version, changed_at): equal stamps mean the same committed data


@dataclass
class RoutingIndex:
    version: Stamp
    authorities: tuple[AuthorityRef, ...]  # in locality order; tree index i is authorities[i]
    categories: dict[int, CategoryRef]
    tree: STRtree = field(repr=False)  # of the boundaries' bounding boxes
    geometries: BoundaryStore = field(repr=False)
    areas: tuple[AreaRef, ...] = ()  # smallest first
    area_tree: STRtree | None = field(default=None, repr=False)
    area_geometries: BoundaryStore | None = field(default=None, repr=False)
    # What filing a report needs besides the point, so that it costs no query: the active
    # categories with their questions (shared, read-only model instances), by slug, and each
    # (authority, category) link's destination id and delivery method.
    category_models: dict[str, Category] = field(default_factory=dict, repr=False)
    destinations: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict, repr=False)
    by_id: dict[int, AuthorityRef] = field(default_factory=dict, repr=False)
    # Whether any address point or place is known: without, a report's nearest address is not
    # looked for (no query). Gazetteer imports bump the routing version.
    has_gazetteer: bool = False
    # Computed on first use (area_ids_within): only staff pages need them.
    _area_points: np.ndarray | None = field(default=None, repr=False)
    _areas_within: dict[frozenset[int], frozenset[int]] = field(default_factory=dict, repr=False)
    # The offers at each set of covering authorities, per language (they are sorted by name):
    # a city has as many sets as neighbourhoods, so a lookup sorts them once, not every time.
    _offers_at: dict[tuple[tuple[int, ...], str], tuple[Offer, ...]] = field(
        default_factory=dict, repr=False
    )

    def area_at(self, latitude: float, longitude: float) -> AreaRef | None:
        """The smallest named area (e.g. neighbourhood) covering the point, if any."""
        if self.area_tree is None or self.area_geometries is None:
            return None
        check_coordinates(latitude, longitude)
        point = shapely.Point(longitude, latitude)
        candidates = self.area_tree.query(point)
        hits = candidates[shapely.covers(self.area_geometries.take(candidates), point)]
        return self.areas[int(hits.min())] if len(hits) else None

    def area_ids_within(self, authority_ids: Iterable[int]) -> frozenset[int]:
        """The named areas lying in any of these authorities (a point inside the area is in
        one of their boundaries): an Eixample district officer's neighbourhoods are Eixample's
        six, though the city imported them all. Kept per set of authorities for this index."""
        key = frozenset(authority_ids)
        found = self._areas_within.get(key)
        if found is None:
            found = self._compute_areas_within(key)
            self._areas_within[key] = found
        return found

    def _compute_areas_within(self, authority_ids: frozenset[int]) -> frozenset[int]:
        if self.area_geometries is None:
            return frozenset()
        if self._area_points is None:
            self._area_points = shapely.point_on_surface(list(self.area_geometries))
        inside = np.zeros(len(self.areas), dtype=bool)
        for position, ref in enumerate(self.authorities):
            if ref.id in authority_ids:
                inside |= shapely.covers(self.geometries.prepared(position), self._area_points)
        return frozenset(self.areas[int(i)].id for i in np.flatnonzero(inside))

    def covering(self, latitude: float, longitude: float) -> tuple[AuthorityRef, ...]:
        check_coordinates(latitude, longitude)
        point = shapely.Point(longitude, latitude)
        candidates = self.tree.query(point)
        if len(candidates) == 0:
            return ()
        # Prepared polygons answer "covers" much faster than the tree's own predicate query, and
        # covers (unlike contains) includes the boundary line, so border points are never lost.
        hits = candidates[shapely.covers(self.geometries.take(candidates), point)]
        hits.sort()
        return tuple(self.authorities[i] for i in hits)

    def covering_many(
        self, points: Sequence[tuple[float, float]]
    ) -> list[tuple[AuthorityRef, ...]]:
        """Bulk routing of (lat, lon) pairs: one vectorised tree query for all of them."""
        for lat, lon in points:
            check_coordinates(lat, lon)
        result: list[list[int]] = [[] for _ in points]
        if not points:
            return []
        coords = np.asarray(points, dtype=float)
        geoms = shapely.points(coords[:, 1], coords[:, 0])
        point_idx, tree_idx = self.tree.query(geoms)  # bounding boxes only, then prepared covers
        inside = shapely.covers(self.geometries.take(tree_idx), geoms[point_idx])
        for p, t in zip(point_idx[inside].tolist(), tree_idx[inside].tolist(), strict=True):
            result[p].append(t)
        return [tuple(self.authorities[i] for i in sorted(hits)) for hits in result]

    def locate(self, latitude: float, longitude: float) -> Location:
        covering = self.covering(latitude, longitude)
        if not covering:
            raise NoAuthorityHere(latitude, longitude)
        return Location(latitude, longitude, covering, self._offers(covering))

    def responsible(self, latitude: float, longitude: float, category_id: int) -> AuthorityRef:
        covering = self.covering(latitude, longitude)
        if not covering:
            raise NoAuthorityHere(latitude, longitude)
        for authority in covering:
            if category_id in authority.category_ids:
                return authority
        name = self.categories[category_id].name if category_id in self.categories else "?"
        raise CategoryNotOfferedHere(
            _("No authority handles %(category)s at this location.") % {"category": name},
            extra={"category": category_id},
        )

    def _offers(self, covering: tuple[AuthorityRef, ...]) -> tuple[Offer, ...]:
        place = (tuple(a.id for a in covering), active_language())
        found = self._offers_at.get(place)
        if found is None:
            if len(self._offers_at) >= OFFER_SETS_KEPT:  # a national map: bounded all the same
                self._offers_at.clear()
            found = self._offers_at[place] = self._sorted_offers(covering)
        return found

    def _sorted_offers(self, covering: Iterable[AuthorityRef]) -> tuple[Offer, ...]:
        chosen: dict[int, Offer] = {}
        for authority in covering:  # most local first: the first to claim a category keeps it
            for category_id in authority.category_ids:
                if category_id not in chosen and category_id in self.categories:
                    chosen[category_id] = Offer(self.categories[category_id], authority)
        return tuple(sorted(chosen.values(), key=lambda o: (o.category.group, o.category.name)))


def check_coordinates(latitude: float, longitude: float) -> None:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidLocation(
            _("(%(latitude)s, %(longitude)s) is not a WGS84 latitude/longitude pair.")
            % {"latitude": latitude, "longitude": longitude},
            extra={"latitude": latitude, "longitude": longitude},
        )


# --- The process-wide index -----------------------------------------------------------------

_lock = threading.Lock()
_index: RoutingIndex | None = None
_check_version = True
_checked_at = float("-inf")  # monotonic() of the last version check
_changed_here = False


def get_index() -> RoutingIndex:
    """The current index, rebuilt first if the database has moved on since it was built."""
    global _index, _check_version, _checked_at
    index = _index
    if index is not None and not _check_version:
        return index
    with _lock:
        current = current_version()
        if _index is None or _index.version != current:
            _index = build_index(current)
            logger.debug("Routing index %s built: %s authorities", current, len(_index.authorities))
        _check_version = False
        _checked_at = monotonic()
        return _index


def request_freshness_check(**_: object) -> None:
    """Connected to request_started and task_prerun: the next lookup checks the version if the
    last check is FIXPOINT_ROUTING_FRESHNESS_SECONDS old, or this process changed routing since.

    Why not at every request: the check is a round trip to the database, one of the few a
    filing makes, for data that changes a few times a year. A change made here is seen at once;
    one made in another process reaches this one within that many seconds (one by default).
    """
    global _check_version, _changed_here
    due = monotonic() - _checked_at >= settings.FIXPOINT_ROUTING_FRESHNESS_SECONDS
    if due or _changed_here:
        _check_version = True
        _changed_here = False


def changed_here(**_: object) -> None:
    """Routing data was changed by this process: the next lookup checks, and so does the next
    request's, which also forgets an index built in a transaction that was then rolled back."""
    global _check_version, _changed_here
    _check_version = True
    _changed_here = True


def invalidate() -> None:
    global _index
    with _lock:
        _index = None


def locate(latitude: float, longitude: float) -> Location:
    return get_index().locate(latitude, longitude)


def responsible_authority(latitude: float, longitude: float, category_id: int) -> AuthorityRef:
    return get_index().responsible(latitude, longitude, category_id)


def active_category(slug: str) -> Category | None:
    """The active category with this slug, its questions prefetched. Shared by every request of
    this process until routing data changes: read it, never change or save it."""
    return get_index().category_models.get(slug)


def category(slug: str, name: str = "category") -> Category:
    """The active category with this slug (as active_category), or UnknownCategory naming the
    parameter `name` that gave the slug."""
    found = active_category(slug)
    if found is None:
        raise UnknownCategory(slug, name)
    return found


def destination(authority_id: int, category_id: int) -> tuple[int, str] | None:
    """(AuthorityCategory id, delivery method) of an active link, or None."""
    return get_index().destinations.get((authority_id, category_id))


def area_ids_within(authority_ids: Iterable[int]) -> frozenset[int]:
    return get_index().area_ids_within(authority_ids)


def authority(authority_id: int) -> AuthorityRef | None:
    """An active authority with a boundary (every authority routing can choose), or None."""
    return get_index().by_id.get(authority_id)


def authority_model(ref: AuthorityRef) -> Authority:
    """The authority routing chose, as a model instance made from the index (no query). Only
    what the index knows is loaded; every other field is deferred, loaded alone if read, and
    the boundary (GeoJSON, hundreds of KB: about 8 ms to decode) never comes with it."""
    from .models import Authority

    return _loaded(Authority, id=ref.id, slug=ref.slug, name=ref.name, kind=ref.kind)


def area_model(ref: AreaRef) -> Area:
    """An area of the index as a model instance, its boundary deferred, as authority_model."""
    from .models import Area

    return _loaded(Area, id=ref.id, slug=ref.slug, name=ref.name, kind=ref.kind)


M = TypeVar("M", bound="Model")


def _loaded(model: type[M], **known: Any) -> M:
    """An instance as a query with .only(*known) would have loaded it."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in known]
    return model.from_db(None, names, [known[name] for name in names])


def current_version() -> Stamp:
    """The routing stamp. changed_at is part of it because a version number built from a
    transaction that rolled back may later be reached again by different data.

    SQL compiled once because it runs on every request that routes: building the ORM query cost
    more than running it (docs/benchmarks.md).
    """
    rows = _STAMP.run()
    if not rows:
        return (0, "")
    return (int(rows[0]["version"]), rows[0]["changed_at"].isoformat())


def _stamp_query() -> Any:
    from .models import RoutingVersion

    return RoutingVersion.objects.filter(pk=1).values("version", "changed_at")


_STAMP = CompiledQuery(_stamp_query)


def build_index(version: Stamp) -> RoutingIndex:
    from .models import AddressPoint, Authority, AuthorityCategory, Category, Place

    models = list(Category.objects.filter(is_active=True).prefetch_related("questions"))
    categories = {
        c.id: CategoryRef(
            c.id,
            c.slug,
            translations_of(c, "name"),
            translations_of(c, "group"),
            c.colour,
            c.icon,
        )
        for c in models
    }
    handled: dict[int, set[int]] = {}
    destinations = {}
    for link_id, authority_id, category_id, method in AuthorityCategory.objects.filter(
        is_active=True, category__is_active=True
    ).values_list("id", "authority_id", "category_id", "delivery_method"):
        handled.setdefault(authority_id, set()).add(category_id)
        destinations[(authority_id, category_id)] = (link_id, method)
    parents = dict(Authority.objects.values_list("id", "parent_id"))
    boundaries = Authority.objects.filter(is_active=True, boundary__isnull=False)
    entries = []
    for row, boundary in _with_boundaries(boundaries, "id", "slug", "name", "kind"):
        ref = AuthorityRef(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            kind=row["kind"],
            depth=_depth(row["id"], parents),
            area=boundary.area,
            category_ids=frozenset(handled.get(row["id"], ())),
        )
        entries.append((ref, boundary))
    entries.sort(key=lambda e: (-e[0].depth, e[0].area, e[0].slug))
    geometries = BoundaryStore([g for _, g in entries])
    areas, area_geometries = _areas()
    return RoutingIndex(
        version=version,
        authorities=tuple(ref for ref, _ in entries),
        categories=categories,
        tree=STRtree(geometries.boxes()),
        geometries=geometries,
        areas=areas,
        area_tree=STRtree(area_geometries.boxes()) if len(areas) else None,
        area_geometries=area_geometries if len(areas) else None,
        category_models={c.slug: c for c in models},
        destinations=destinations,
        by_id={ref.id: ref for ref, _ in entries},
        has_gazetteer=AddressPoint.objects.exists() or Place.objects.exists(),
    )


def _with_boundaries(queryset: Any, *fields: str) -> Iterator[tuple[dict[str, Any], Boundary]]:
    """Each row's ``fields`` with its boundary parsed, a chunk at a time.

    The boundary comes from the database as text and GEOS parses it: decoded by Python's json a
    national map's millions of coordinates would pass through as float objects and lists, and
    the heap they leave behind stays with the process (bench/memory.py measures it).
    """
    rows = queryset.annotate(boundary_text=Cast("boundary", TextField())).values(
        *fields, "boundary_text"
    )
    chunk: list[dict[str, Any]] = []
    for row in rows.iterator(chunk_size=BOUNDARY_CHUNK):
        chunk.append(row)
        if len(chunk) == BOUNDARY_CHUNK:
            yield from _parsed(chunk)
            chunk = []
    yield from _parsed(chunk)


def _parsed(chunk: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], Boundary]]:
    geometries = shapely.from_geojson([row.pop("boundary_text") for row in chunk])
    for row, geometry in zip(chunk, geometries, strict=True):
        yield row, Boundary.of(geometry)


def _areas() -> tuple[tuple[AreaRef, ...], BoundaryStore]:
    from .models import Area

    rows = [
        (AreaRef(a["id"], a["slug"], a["name"], a["kind"]), boundary)
        for a, boundary in _with_boundaries(Area.objects.all(), "id", "slug", "name", "kind")
    ]
    rows.sort(key=lambda r: (r[1].area, r[0].slug))
    return tuple(ref for ref, _ in rows), BoundaryStore([g for _, g in rows])


def _depth(authority_id: int, parents: Mapping[int, int | None]) -> int:
    depth, seen = 0, {authority_id}
    parent = parents.get(authority_id)
    while parent is not None and parent not in seen:  # the service refuses cycles; be safe anyway
        seen.add(parent)
        depth += 1
        parent = parents.get(parent)
    return depth
