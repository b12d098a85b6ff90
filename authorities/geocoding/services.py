"""Writing the gazetteer: one import of address points and named places, all or nothing.

Re-importing updates: an address is the same address when its street (name and city, compared
normalised), number and unit are; a place when its id in the file is, or else its kind and name.
Running the same file twice therefore changes nothing the second time. With `replace`, what an
earlier import of the same source had and this file no longer has is removed too (a street
register's renamed or demolished addresses).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from django.db import transaction
from django.db.models import Avg, Count, Exists, OuterRef, Subquery
from django.utils import timezone

from .. import routing
from ..exceptions import GazetteerImportError, InvalidBoundary
from ..geometry import check_boundary
from ..models import AddressPoint, Place, Street
from ..services import routing_changed
from .files import AddressRow, BadRow, PlaceRow, Row
from .text import normalise, number_key

logger = logging.getLogger(__name__)

BATCH = 5_000  # rows written per statement
MAX_MESSAGES = 20  # bad rows named one by one; the rest are counted
LIMITS = {  # field: longest value the tables keep
    "street": 200,
    "number": 20,
    "unit": 50,
    "postcode": 20,
    "city": 100,
    "source_id": 100,
    "name": 200,
    "kind": 50,
}


@dataclass
class GazetteerImportSummary:
    rows: int = 0
    addresses_created: int = 0
    addresses_updated: int = 0  # also a row repeated in the file
    addresses_removed: int = 0
    places_created: int = 0
    places_updated: int = 0
    places_removed: int = 0
    places_repaired: int = 0
    outside: int = 0  # address points no authority covers
    streets: int = 0  # in the gazetteer afterwards


@dataclass
class _Import:
    source: str
    stamp: datetime
    summary: GazetteerImportSummary = field(default_factory=GazetteerImportSummary)
    bad: list[str] = field(default_factory=list)
    bad_count: int = 0
    streets: dict[str, int] = field(default_factory=dict)  # key -> id
    touched: set[int] = field(default_factory=set)  # street ids
    addresses: dict[tuple[int, str, str], AddressPoint] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)
    address_rows: int = 0  # good rows, written
    place_rows: int = 0

    def refuse(self, where: str, reason: str) -> None:
        self.bad_count += 1
        if len(self.bad) < MAX_MESSAGES:
            self.bad.append(f"{where}: {reason}")


def gazetteer_import(
    *,
    rows: Iterable[Row],
    source: str,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> GazetteerImportSummary:
    """Write address points and places, in batches, in one transaction.

    The rows are read once, as they come (a file of millions is never held in memory). A bad row
    stops the writing but not the reading, so that every bad row is named; then the transaction
    is rolled back and GazetteerImportError lists them: nothing of the file is imported.
    """
    job = _Import(source=source[:100], stamp=timezone.now())
    with transaction.atomic():
        counts = (AddressPoint.objects.count(), Place.objects.count())
        job.streets = dict(Street.objects.values_list("key", "pk"))
        for row in rows:
            job.summary.rows += 1
            _take(job, row)
            if len(job.addresses) >= BATCH or len(job.places) >= BATCH:
                _flush(job)
            if progress and job.summary.rows % BATCH == 0:
                progress(job.summary.rows)
        _flush(job)
        if job.bad_count:
            raise GazetteerImportError(_refusal(job))
        if replace:
            _remove_stale(job)
        _refresh_streets(job.touched, everything=replace)
        _count(job, counts)
        # Routing's index knows whether there is a gazetteer at all (RoutingIndex.has_gazetteer),
        # so that filing a report with none asks for no nearest address.
        routing_changed()
    if progress:
        progress(job.summary.rows)
    return job.summary


def _take(job: _Import, row: Row) -> None:
    if isinstance(row, BadRow):
        job.refuse(row.where, row.reason)
    elif isinstance(row, AddressRow):
        _take_address(job, row)
    else:
        _take_place(job, row)


def _refusal(job: _Import) -> str:
    more = job.bad_count - len(job.bad)
    lines = [*job.bad, *([f"... and {more} more bad rows"] if more else [])]
    rows = "row" if job.bad_count == 1 else "rows"
    return f"{job.bad_count} bad {rows}:\n" + "\n".join(lines)


# --- address points ---------------------------------------------------------------------------


def address_problem(row: AddressRow) -> str | None:
    """Why this address point cannot be kept, or None."""
    if not row.street:
        return "the street is empty"
    if not (-90 <= row.latitude <= 90 and -180 <= row.longitude <= 180):
        return f"({row.latitude}, {row.longitude}) is not a WGS84 latitude and longitude"
    if row.latitude == 0 and row.longitude == 0:
        return "the position is 0, 0 (a missing position, not an address)"
    return _too_long(row, ("street", "number", "unit", "postcode", "city", "source_id"))


def _too_long(row: Any, names: Sequence[str]) -> str | None:
    for name in names:
        value = getattr(row, name)
        if len(value) > LIMITS[name]:
            return f"the {name.replace('_', ' ')} is longer than {LIMITS[name]} characters"
    return None


def _take_address(job: _Import, row: AddressRow) -> None:
    problem = address_problem(row)
    if problem:
        job.refuse(row.where, problem)
        return
    if job.bad_count:
        return  # still reading, to name every bad row; nothing more is written
    job.address_rows += 1
    street_key = f"{normalise(row.city)}/{normalise(row.street)}"[:320]
    street_id = job.streets.get(street_key) or _new_street(job, street_key, row)
    number = number_key(row.number)
    job.touched.add(street_id)
    job.addresses[(street_id, number, row.unit)] = AddressPoint(
        street_id=street_id,
        number=row.number,
        number_key=number,
        unit=row.unit,
        postcode=row.postcode,
        latitude=row.latitude,
        longitude=row.longitude,
        source=job.source,
        source_id=row.source_id,
        imported_at=job.stamp,
    )


def _new_street(job: _Import, key: str, row: AddressRow) -> int:
    """A new street (its centre and count are set at the end)."""
    street = Street.objects.create(
        key=key,
        name=row.street,
        city=row.city,
        search_text=normalise(f"{row.street} {row.city}")[:320],
        latitude=row.latitude,
        longitude=row.longitude,
    )
    job.streets[key] = street.pk
    return street.pk


def _flush(job: _Import) -> None:
    if job.bad_count:
        job.addresses.clear()
        job.places.clear()
        return
    if job.addresses:
        points = list(job.addresses.values())
        AddressPoint.objects.bulk_create(
            points,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["street", "number_key", "unit"],
            update_fields=[
                "number",
                "postcode",
                "latitude",
                "longitude",
                "source",
                "source_id",
                "imported_at",
            ],
        )
        job.summary.outside += _outside(points)
        job.addresses.clear()
    if job.places:
        Place.objects.bulk_create(
            list(job.places.values()),
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=[
                "name",
                "alt_names",
                "kind",
                "search_text",
                "geometry",
                "latitude",
                "longitude",
                "south",
                "west",
                "north",
                "east",
                "source",
                "imported_at",
            ],
        )
        job.places.clear()


def _outside(points: list[AddressPoint]) -> int:
    covering = routing.get_index().covering_many([(p.latitude, p.longitude) for p in points])
    return sum(1 for found in covering if not found)


def _remove_stale(job: _Import) -> None:
    stale = AddressPoint.objects.filter(source=job.source, imported_at__lt=job.stamp)
    job.summary.addresses_removed, _ = stale.delete()
    places = Place.objects.filter(source=job.source, imported_at__lt=job.stamp)
    job.summary.places_removed, _ = places.delete()


def _refresh_streets(touched: set[int], *, everything: bool) -> None:
    """Each street's centre and count from its addresses; streets left with none go."""
    Street.objects.filter(~Exists(AddressPoint.objects.filter(street=OuterRef("pk")))).delete()
    streets = Street.objects.all() if everything else Street.objects.filter(pk__in=touched)
    addresses = AddressPoint.objects.filter(street=OuterRef("pk")).order_by().values("street")
    streets.update(
        latitude=Subquery(addresses.annotate(v=Avg("latitude")).values("v")),
        longitude=Subquery(addresses.annotate(v=Avg("longitude")).values("v")),
        address_count=Subquery(addresses.annotate(v=Count("pk")).values("v")),
    )


def _count(job: _Import, before: tuple[int, int]) -> None:
    summary = job.summary
    addresses, places = AddressPoint.objects.count(), Place.objects.count()
    summary.addresses_created = addresses - before[0] + summary.addresses_removed
    summary.places_created = places - before[1] + summary.places_removed
    summary.addresses_updated = job.address_rows - summary.addresses_created
    summary.places_updated = job.place_rows - summary.places_created
    summary.streets = Street.objects.count()


# --- named places -----------------------------------------------------------------------------


def place_problem(row: PlaceRow) -> str | None:
    if not row.name:
        return "the name is empty"
    return _too_long(row, ("name", "kind", "source_id"))


def _take_place(job: _Import, row: PlaceRow) -> None:
    problem = place_problem(row)
    shape = None
    if problem is None:
        try:
            shape, repaired = _place_shape(row.geometry)
        except InvalidBoundary as exc:
            problem = f"({row.name!r}) {exc.message}"
        else:
            job.summary.places_repaired += bool(repaired)
    if problem or shape is None:
        job.refuse(row.where, problem or "no geometry")
        return
    if job.bad_count:
        return
    job.place_rows += 1
    name_text = normalise(row.name)
    key = (row.source_id or f"{normalise(row.kind)}:{name_text}")[:320]
    centre = shape.representative_point() if shape.geom_type != "Point" else shape
    west, south, east, north = shape.bounds
    job.places[key] = Place(
        key=key,
        name=row.name,
        alt_names=list(row.alt_names),
        kind=row.kind,
        search_text=" ".join(normalise(n) for n in (row.name, *row.alt_names))[:1000],
        geometry=_geojson(shape),
        latitude=round(centre.y, 7),
        longitude=round(centre.x, 7),
        south=south,
        west=west,
        north=north,
        east=east,
        source=job.source,
        imported_at=job.stamp,
    )


def _place_shape(geometry: dict[str, Any]) -> tuple[Any, bool]:
    """A shapely Point, or a checked (and perhaps repaired) polygon; InvalidBoundary if neither."""
    if geometry.get("type") == "Point":
        coordinates = geometry.get("coordinates")
        try:
            lon, lat = float(coordinates[0]), float(coordinates[1])  # type: ignore[index]
        except (TypeError, ValueError, IndexError) as exc:
            raise InvalidBoundary("the Point has no longitude and latitude") from exc
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InvalidBoundary(f"({lat}, {lon}) is not a WGS84 latitude and longitude")
        return shapely.Point(lon, lat), False
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") or "nothing"
        raise InvalidBoundary(f"a place is a Point, Polygon or MultiPolygon, not a {kind}")
    checked = check_boundary(geometry)
    return checked.geometry, bool(checked.repaired)


def _geojson(shape: Any) -> dict[str, Any]:
    from ..geometry import to_geojson

    return to_geojson(shape)
