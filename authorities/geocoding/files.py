"""Reading gazetteer files: address points from CSV, address points and named places from GeoJSON.

A reader yields one row per record, a `BadRow` (where and why) for a record it cannot read, and
stops with `GazetteerImportError` for a file it cannot read at all. The service
(`gazetteer_import`) checks each row's values, writes them and refuses the whole file if any row
was bad, so the readers never decide what is imported.

CSV: a header row, names case-insensitive, in either layout (extra columns are ignored):
- OpenAddresses: LON, LAT, NUMBER, STREET, UNIT, CITY, DISTRICT, REGION, POSTCODE, ID, HASH;
- simple: street, number, postcode, lat, lon.
GeoJSON: a FeatureCollection, or one Feature per line (GeoJSON text sequences, as OpenAddresses
publishes them). A feature with a `street` property is an address point (a Point); one with a
`name` is a named place (a Point, Polygon or MultiPolygon; optional `kind`, `id`, `alt_names`).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import GazetteerImportError
from ..geometry import WGS84_NAMES

# Column (lower case) -> field, for both CSV layouts; a few common spellings of the coordinates.
COLUMNS = {
    "street": "street",
    "number": "number",
    "unit": "unit",
    "city": "city",
    "postcode": "postcode",
    "id": "source_id",
    "lat": "latitude",
    "latitude": "latitude",
    "lon": "longitude",
    "lng": "longitude",
    "longitude": "longitude",
    "district": "",  # OpenAddresses columns Fixpoint does not keep
    "region": "",
    "hash": "",
}
REQUIRED = ("street", "latitude", "longitude")


@dataclass(frozen=True)
class AddressRow:
    where: str  # "line 12", "feature 3": for messages
    street: str
    number: str
    latitude: float
    longitude: float
    unit: str = ""
    postcode: str = ""
    city: str = ""
    source_id: str = ""


@dataclass(frozen=True)
class PlaceRow:
    where: str
    name: str
    geometry: dict[str, Any]
    kind: str = "place"
    alt_names: tuple[str, ...] = ()
    source_id: str = ""


@dataclass(frozen=True)
class BadRow:
    where: str
    reason: str


Row = AddressRow | PlaceRow | BadRow


@dataclass
class GazetteerFile:
    rows: Iterator[Row]
    total: int  # records in the file, for progress
    ignored_columns: tuple[str, ...] = ()


def open_gazetteer_file(path: Path, file_format: str | None = None) -> GazetteerFile:
    """The rows of a CSV or GeoJSON file (the format from the name when not given)."""
    if not path.is_file():
        raise GazetteerImportError(f"{path} does not exist or is not a file.")
    file_format = file_format or _format_from_name(path)
    if file_format == "csv":
        return _csv_file(path)
    return _geojson_file(path)


def _format_from_name(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".geojson", ".json", ".geojsonl", ".geojsons", ".ndjson"):
        return "geojson"
    raise GazetteerImportError(
        f"{path.name}: say --format csv or --format geojson (the name ends in neither)."
    )


# --- CSV -------------------------------------------------------------------------------------


def _csv_file(path: Path) -> GazetteerFile:
    header, dialect = _csv_header(path)
    names = [name.strip().lower() for name in header]
    fields = [COLUMNS.get(name) for name in names]
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        wanted = ", ".join(f.upper() if f == "street" else f[:3].upper() for f in missing)
        raise GazetteerImportError(
            f"{path.name}: the header has no {wanted} column (it has: {', '.join(header)}); "
            "use the OpenAddresses columns or street,number,postcode,lat,lon."
        )
    ignored = tuple(h for h, f in zip(header, fields, strict=True) if f is None)
    with path.open("rb") as counting:
        total = max(0, sum(1 for _ in counting) - 1)
    return GazetteerFile(_csv_rows(path, dialect, names, fields), total, ignored)


def _csv_header(path: Path) -> tuple[list[str], type[csv.Dialect] | csv.Dialect]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as exc:
        raise GazetteerImportError(f"{path.name} is not UTF-8 text ({exc}).") from exc
    if not first.strip():
        raise GazetteerImportError(f"{path.name} is empty: it needs a header row.")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return next(csv.reader([first], dialect)), dialect


def _csv_rows(
    path: Path, dialect: Any, names: list[str], fields: list[str | None]
) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, dialect)
        next(reader)
        try:
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue
                yield _csv_row(f"line {reader.line_num}", record, names, fields)
        except (csv.Error, UnicodeDecodeError) as exc:
            yield BadRow(f"line {reader.line_num + 1}", f"cannot be read ({exc})")


def _csv_row(where: str, record: list[str], names: list[str], fields: list[str | None]) -> Row:
    if len(record) != len(names):
        return BadRow(where, f"has {len(record)} values; the header has {len(names)} columns")
    values: dict[str, str] = {}
    for name, field, cell in zip(names, fields, record, strict=True):
        if field:
            values[field] = cell.strip()
            values[f"{field}:column"] = name.upper()
    return _address(where, values)


def _address(where: str, values: dict[str, str]) -> Row:
    coordinates = []
    for field in ("latitude", "longitude"):
        text = values.get(field, "")
        column = values.get(f"{field}:column", field)
        try:
            number = float(text)
        except ValueError:
            return BadRow(where, f"{column} {text!r} is not a number")
        if not math.isfinite(number):
            return BadRow(where, f"{column} {text!r} is not a number")
        coordinates.append(number)
    return AddressRow(
        where=where,
        street=values.get("street", ""),
        number=values.get("number", ""),
        latitude=coordinates[0],
        longitude=coordinates[1],
        unit=values.get("unit", ""),
        postcode=values.get("postcode", ""),
        city=values.get("city", ""),
        source_id=values.get("source_id", ""),
    )


# --- GeoJSON ---------------------------------------------------------------------------------


def _geojson_file(path: Path) -> GazetteerFile:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GazetteerImportError(f"{path.name} is not UTF-8 text ({exc}).") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None  # perhaps one feature per line
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise GazetteerImportError(f"{path.name} has no list of features.")
        _check_crs(path, data.get("crs"))
        numbered = ((f"feature {n}", f) for n, f in enumerate(features, 1))
        return GazetteerFile(_features(numbered), len(features))
    if isinstance(data, dict) and data.get("type") == "Feature":
        return GazetteerFile(_features(iter([("feature 1", data)])), 1)
    lines = text.splitlines()
    if data is not None or not lines or not lines[0].strip().lstrip("\x1e").startswith("{"):
        raise GazetteerImportError(
            f"{path.name} is neither a GeoJSON FeatureCollection nor one Feature per line."
        )
    return GazetteerFile(_feature_lines(lines), sum(1 for line in lines if line.strip()))


def _check_crs(path: Path, crs: Any) -> None:
    if crs is None:
        return
    name = crs.get("properties", {}).get("name", "") if isinstance(crs, dict) else ""
    if name not in WGS84_NAMES:
        raise GazetteerImportError(
            f"{path.name}: the file's CRS is {name or crs!r}; reproject it to WGS84 "
            "longitude/latitude (EPSG:4326), e.g. ogr2ogr -t_srs EPSG:4326."
        )


def _feature_lines(lines: list[str]) -> Iterator[Row]:
    for number, line in enumerate(lines, 1):
        line = line.strip().lstrip("\x1e")  # RFC 8142 record separators
        if not line:
            continue
        try:
            feature = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadRow(f"line {number}", f"is not JSON ({exc.msg})")
            continue
        yield from _features(iter([(f"line {number}", feature)]))


def _features(numbered: Iterator[tuple[str, Any]]) -> Iterator[Row]:
    for where, feature in numbered:
        yield _feature(where, feature)


def _feature(where: str, feature: Any) -> Row:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return BadRow(where, "is not a GeoJSON Feature")
    raw = feature.get("properties")
    if not isinstance(raw, dict):
        return BadRow(where, "has no properties")
    properties = {str(k).lower(): v for k, v in raw.items()}
    geometry = feature.get("geometry")
    if _text(properties.get("street")):
        return _address_feature(where, properties, geometry)
    name = _text(properties.get("name"))
    if not name:
        return BadRow(where, "has neither a 'street' nor a 'name' property")
    if not isinstance(geometry, dict):
        return BadRow(where, f"({name!r}) has no geometry")
    return PlaceRow(
        where=where,
        name=name,
        geometry=geometry,
        kind=_text(properties.get("kind")) or "place",
        alt_names=_alt_names(properties.get("alt_names")),
        source_id=_text(properties.get("id")),
    )


def _address_feature(where: str, properties: dict[str, Any], geometry: Any) -> Row:
    point = _point(geometry)
    if point is None:
        return BadRow(where, "an address must be a Point with a longitude and a latitude")
    values = {
        field: _text(properties.get(name))
        for name, field in COLUMNS.items()
        if field and field not in ("latitude", "longitude")
    }
    values["longitude"], values["latitude"] = point
    values["longitude:column"], values["latitude:column"] = "longitude", "latitude"
    return _address(where, values)


def _point(geometry: Any) -> tuple[str, str] | None:
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return None
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        return None
    return str(coordinates[0]), str(coordinates[1])


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _alt_names(value: Any) -> tuple[str, ...]:
    names = value if isinstance(value, list) else str(value or "").split(";")
    return tuple(n for n in (_text(v) for v in names) if n)
