"""manage.py locate LAT LON | manage.py locate --csv FILE [--output FILE]"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from authorities import routing
from config.errors import ApplicationError


class Command(BaseCommand):
    help = "Show which authorities cover a point and who receives each category there."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lat", nargs="?", type=float)
        parser.add_argument("lon", nargs="?", type=float)
        parser.add_argument("--csv", dest="csv_path", help="read lat,lon rows from this file")
        parser.add_argument("--output", help="write CSV here instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["csv_path"]:
            self._bulk(Path(options["csv_path"]), options["output"])
        elif options["lat"] is not None and options["lon"] is not None:
            self._single(options["lat"], options["lon"])
        else:
            raise CommandError("Give LAT LON, or --csv FILE.")

    def _single(self, lat: float, lon: float) -> None:
        try:
            location = routing.locate(lat, lon)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Point {lat}, {lon} is covered by (most local first):")
        for authority in location.authorities:
            self.stdout.write(f"  {authority.slug:<28} {authority.name} ({authority.kind})")
        self.stdout.write("Categories offered here:")
        width = max((len(o.category.slug) for o in location.offers), default=10)
        for offer in location.offers:
            self.stdout.write(
                f"  {offer.category.slug:<{width}} -> {offer.authority.slug}"
                f"   [{offer.category.group}]"
            )

    def _bulk(self, path: Path, output: str | None) -> None:
        if not path.is_file():
            raise CommandError(f"{path} does not exist or is not a file.")
        points, bad = _read_points(path)
        for line, reason in bad:
            self.stderr.write(f"line {line}: {reason}")
        index = routing.get_index()
        results = index.covering_many([p for _, p in points])
        out: TextIO
        out = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
        try:
            writer = csv.writer(out)
            writer.writerow(["lat", "lon", "authority_slugs"])
            for (_, (lat, lon)), covering in zip(points, results, strict=True):
                writer.writerow([lat, lon, ";".join(a.slug for a in covering)])
        finally:
            if output:
                out.close()
        uncovered = sum(1 for covering in results if not covering)
        self.stderr.write(
            f"{len(points)} points routed ({uncovered} outside every authority), "
            f"{len(bad)} bad rows skipped."
        )


def _read_points(path: Path) -> tuple[list[tuple[int, tuple[float, float]]], list[tuple[int, str]]]:
    points: list[tuple[int, tuple[float, float]]] = []
    bad: list[tuple[int, str]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.reader(handle), 1):
            if not row or (line == 1 and row[0].strip().lower() in ("lat", "latitude")):
                continue
            try:
                lat, lon = float(row[0]), float(row[1])
                routing.check_coordinates(lat, lon)
            except (ValueError, IndexError):
                bad.append((line, f"expected 'lat,lon' numbers, got {','.join(row)!r}"))
                continue
            except ApplicationError as exc:
                bad.append((line, exc.message))
                continue
            points.append((line, (lat, lon)))
    return points, bad
