"""Boundaries held compactly for routing: each as 2-D WKB, decoded on demand into a bounded cache.

A shapely geometry keeps three doubles per vertex in GEOS (24 bytes), and a prepared one an index
on top; 2-D WKB keeps two (16 bytes) and nothing else. A city's few hundred boundaries all fit
the cache and stay decoded and prepared; a national map's millions of vertices stay as bytes
except the polygons that points actually fall in, so a process's memory grows with the map's
size by the WKB alone (bench/memory.py measures it). ``ROUTING_CACHE_VERTICES`` bounds the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from shapely.geometry.base import BaseGeometry

FEW = 16  # more positions than this are looked up once each


@dataclass(frozen=True)
class Boundary:
    """What the store keeps of one polygon: made as soon as it is parsed, so that a national
    map's geometries never exist all at once."""

    wkb: bytes
    bounds: tuple[float, float, float, float]  # west, south, east, north
    vertices: int
    area: float  # in square degrees: only compared, to put smaller boundaries first

    @classmethod
    def of(cls, geometry: BaseGeometry) -> Boundary:
        west, south, east, north = (float(v) for v in geometry.bounds)
        wkb = shapely.to_wkb(geometry, output_dimension=2)
        vertices = int(shapely.get_num_coordinates(geometry))
        return cls(wkb, (west, south, east, north), vertices, float(geometry.area))


class BoundaryStore:
    """Polygons by position: all decoded and prepared when they fit ``ROUTING_CACHE_VERTICES``,
    else each decoded (and prepared) when a query needs it, the least recently used dropped."""

    def __init__(self, boundaries: Sequence[Boundary]) -> None:
        self._wkb = [b.wkb for b in boundaries]
        self._vertices = [b.vertices for b in boundaries]
        corners = [b.bounds for b in boundaries]
        self.bounds: np.ndarray = np.array(corners, dtype=float).reshape(-1, 4)
        self._budget = int(settings.FIXPOINT_ROUTING_CACHE_VERTICES)
        # A map that fits (a city's) is decoded and prepared at once and served by plain indexing.
        self._resident: np.ndarray | None = None
        if sum(self._vertices) <= self._budget:
            self._resident = shapely.from_wkb(np.array(self._wkb, dtype=object))
            shapely.prepare(self._resident)
        self._cache: OrderedDict[int, BaseGeometry] = OrderedDict()
        self._cached_vertices = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._wkb)

    def __getitem__(self, position: int) -> BaseGeometry:
        """One polygon, from the cache or decoded for this call only (a one-off use, such as a
        name's representative point, does not push out what routing keeps)."""
        if self._resident is not None:
            return self._resident[position]
        cached = self._cache.get(position)
        return cached if cached is not None else shapely.from_wkb(self._wkb[position])

    def __iter__(self) -> Iterator[BaseGeometry]:
        return (self[position] for position in range(len(self)))

    def boxes(self) -> np.ndarray:
        """Each polygon's bounding box, what the STRtree is built on."""
        west, south, east, north = self.bounds.T
        return shapely.box(west, south, east, north)

    def total_bounds(self) -> tuple[float, float, float, float]:
        west, south = self.bounds[:, 0].min(), self.bounds[:, 1].min()
        east, north = self.bounds[:, 2].max(), self.bounds[:, 3].max()
        return float(west), float(south), float(east), float(north)

    def take(self, positions: np.ndarray) -> np.ndarray:
        """The prepared polygons at ``positions``, for a vectorised predicate."""
        if self._resident is not None:
            return self._resident[positions]
        if len(positions) > FEW:  # a bulk query names the same few polygons many times
            unique, inverse = np.unique(positions, return_inverse=True)
            return self._each(unique)[inverse]
        return self._each(positions)

    def _each(self, positions: np.ndarray) -> np.ndarray:
        found = np.empty(len(positions), dtype=object)
        found[:] = [self.prepared(int(p)) for p in positions]
        return found

    def prepared(self, position: int) -> BaseGeometry:
        """The polygon at ``position``, prepared and kept in the cache."""
        if self._resident is not None:
            return self._resident[position]
        geometry = self._cache.get(position)
        if geometry is not None:
            with self._lock:
                if position in self._cache:
                    self._cache.move_to_end(position)
            return geometry
        geometry = shapely.from_wkb(self._wkb[position])
        shapely.prepare(geometry)
        with self._lock:
            if position not in self._cache:
                self._cache[position] = geometry
                self._cached_vertices += self._vertices[position]
                self._evict()
        return geometry

    def _evict(self) -> None:
        # The newest entry stays even when it alone is over the budget: it is in use.
        while self._cached_vertices > self._budget and len(self._cache) > 1:
            position, _ = self._cache.popitem(last=False)
            self._cached_vertices -= self._vertices[position]
