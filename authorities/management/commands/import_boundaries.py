"""manage.py import_boundaries PATH --name-field FIELD [--code-field FIELD] [--parent SLUG]"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from authorities.exceptions import BoundaryImportError
from authorities.geometry import WGS84_NAMES
from authorities.models import Authority, AuthorityKind
from authorities.services import BoundaryFeature, areas_import, boundaries_import


class Command(BaseCommand):
    help = "Create or update one authority per feature of a GeoJSON FeatureCollection (WGS84)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="GeoJSON FeatureCollection file")
        parser.add_argument("--name-field", required=True, help="property holding the name")
        parser.add_argument(
            "--code-field",
            help="property holding a stable code, unique in the file (then matched by code only)",
        )
        parser.add_argument("--parent", help="slug of the parent authority")
        parser.add_argument(
            "--kind",
            choices=AuthorityKind.values,
            default=None,
            help="default: district under a parent, council otherwise",
        )
        parser.add_argument(
            "--area-kind",
            help="import named areas of this kind (e.g. neighbourhood) instead of authorities; "
            "--parent then names the authority they lie in",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = _read_collection(Path(options["path"]))
        parent = _find_parent(options["parent"])
        features = _features(data, options["name_field"], options["code_field"])
        kind = options["kind"] or (AuthorityKind.DISTRICT if parent else AuthorityKind.COUNCIL)
        step = max(1, len(features) // 20)

        def progress(done: int, total: int) -> None:
            if total >= 50 and (done % step == 0 or done == total):
                self.stderr.write(f"  {done}/{total} features")

        area_kind = options["area_kind"]
        try:
            if area_kind:
                summary = areas_import(
                    features=features, kind=area_kind, authority=parent, progress=progress
                )
            else:
                summary = boundaries_import(
                    features=features, parent=parent, kind=kind, progress=progress
                )
        except BoundaryImportError as exc:
            raise CommandError(f"Nothing imported: {exc.message}") from exc
        self.stdout.write(
            f"{len(features)} features: {summary.created} {'areas' if area_kind else 'authorities'}"
            f" created, {summary.updated} updated, {summary.repaired} boundaries repaired."
        )


def _read_collection(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CommandError(f"Nothing imported: {path} does not exist or is not a file.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CommandError(f"Nothing imported: {path} is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise CommandError(f"Nothing imported: {path} is not a GeoJSON FeatureCollection.")
    if not isinstance(data.get("features"), list):
        raise CommandError(f"Nothing imported: {path} has no list of features.")
    _check_crs(data.get("crs"))
    return data


def _check_crs(crs: Any) -> None:
    # GeoJSON (RFC 7946) is WGS84 lon/lat; older files may still name another CRS, e.g. UTM metres.
    if crs is None:
        return
    name = crs.get("properties", {}).get("name", "") if isinstance(crs, dict) else ""
    if name not in WGS84_NAMES:
        raise CommandError(
            f"Nothing imported: the file's CRS is {name or crs!r}; reproject it to WGS84 "
            "longitude/latitude (EPSG:4326), e.g. ogr2ogr -t_srs EPSG:4326."
        )


def _find_parent(slug: str | None) -> Authority | None:
    if not slug:
        return None
    parent = Authority.objects.filter(slug=slug).first()
    if parent is None:
        raise CommandError(f"Nothing imported: there is no authority with slug {slug!r}.")
    return parent


def _features(
    data: dict[str, Any], name_field: str, code_field: str | None
) -> list[BoundaryFeature]:
    result = []
    for number, feature in enumerate(data["features"], 1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            raise CommandError(f"Nothing imported: feature {number} has no properties.")
        for field in filter(None, (name_field, code_field)):
            if field not in properties:
                known = ", ".join(sorted(properties)) or "none"
                raise CommandError(
                    f"Nothing imported: feature {number} has no property {field!r} "
                    f"(it has: {known})."
                )
        name = str(properties[name_field] or "").strip()
        if not name:
            raise CommandError(f"Nothing imported: feature {number} has an empty {name_field!r}.")
        code = str(properties[code_field] or "").strip() if code_field else ""
        if code_field and not code:
            # Features are matched by code alone: one without a code could only be guessed at.
            raise CommandError(f"Nothing imported: feature {number} has an empty {code_field!r}.")
        result.append(BoundaryFeature(number, name, code, feature.get("geometry")))
    return result
