"""manage.py import_addresses FILE [--format csv|geojson] [--source NAME] [--replace]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from authorities.exceptions import GazetteerImportError
from authorities.geocoding.files import open_gazetteer_file
from authorities.geocoding.services import gazetteer_import

PROGRESS_FROM = 50_000  # files with more rows than this show their progress


class Command(BaseCommand):
    help = (
        "Load address points (CSV: OpenAddresses columns or street,number,postcode,lat,lon; "
        "GeoJSON) and named places (GeoJSON points or polygons with a name) into the gazetteer. "
        "All or nothing; a re-import updates what it finds again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a CSV or GeoJSON file")
        parser.add_argument("--format", choices=("csv", "geojson"), help="default: from the name")
        parser.add_argument(
            "--source",
            help="a name for what this file holds (default: the file's name without extension)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="also remove what an earlier import of the same source had and this one lacks",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        source = options["source"] or path.stem
        try:
            opened = open_gazetteer_file(path, options["format"])
            if opened.ignored_columns:
                self.stderr.write(f"Ignoring columns: {', '.join(opened.ignored_columns)}")
            step = max(opened.total // 20, 1)

            def progress(done: int) -> None:
                if opened.total >= PROGRESS_FROM and (done % step < 5_000 or done >= opened.total):
                    self.stderr.write(f"  {done:,}/{opened.total:,} rows")

            summary = gazetteer_import(
                rows=opened.rows, source=source, replace=options["replace"], progress=progress
            )
        except GazetteerImportError as exc:
            raise CommandError(f"Nothing imported: {exc.message}") from exc
        s = summary
        self.stdout.write(
            f"{s.rows:,} rows from {path.name} (source {source!r}): "
            f"addresses {s.addresses_created:,} created, {s.addresses_updated:,} updated, "
            f"{s.addresses_removed:,} removed; places {s.places_created:,} created, "
            f"{s.places_updated:,} updated, {s.places_removed:,} removed; "
            f"{s.streets:,} streets in the gazetteer."
        )
        if s.outside:
            self.stdout.write(
                f"{s.outside:,} address points lie outside every authority's boundary: search "
                "shows them as not covered."
            )
        if s.places_repaired:
            self.stdout.write(f"{s.places_repaired} place polygons were repaired (see the log).")
