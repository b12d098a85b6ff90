"""Map query parameters: the filters (categories, states, age), the zoom, the limits, and
the errors a bad query gets."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import (
    QuerySet,
)
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from authorities.exceptions import UnknownCategory
from authorities.models import Category
from config import cache as shared_cache
from config import params
from config.errors import ApplicationError
from reports.models import HIDDEN_STATES, Report, ReportState

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
        refused = _("state must be one of %(groups)s, not %(state)s.")
        raise InvalidMapQuery(
            "invalid_state", refused % {"groups": ", ".join(STATE_GROUPS), "state": repr(state)}
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
            "invalid_age", _("age must be a whole number of days, 1 or more.")
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


def parse_zoom(text: str | None) -> int:
    try:
        zoom = params.finite_number(text or "", "zoom", minimum=0, maximum=MAX_ZOOM_PARAM)
    except params.InvalidParameter:
        raise InvalidMapQuery(
            "invalid_zoom",
            _("Give zoom as a number between 0 and %(most)s.") % {"most": MAX_ZOOM_PARAM},
        ) from None
    return math.floor(zoom)
