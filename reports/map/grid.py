"""The grid: a viewport at a zoom as aligned tiles of GRID x GRID cells."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from config.params import Box

from .query import GRID, MAX_GRID_ZOOM, MAX_TILES, IndexRange, TileKey


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
