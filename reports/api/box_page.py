"""The first page of the public reports in a box, from SQL compiled once per page size.

The list's most common request is an app or a map asking what is around: the first page of a
bounding box, newest first. Building that query through django-filter and the ORM cost more
than PostgreSQL took to find its rows (docs/benchmarks.md, issue 18). A request that asks
nothing else (``bbox``, and ``page_size`` or ``format`` if it likes) gets SQL compiled once per
page size, run with the box's four numbers (config.compiled). It is not prepared by the server:
PostgreSQL's generic plan for a box would be the same for a street and for a city, and slow for
most of them. Any other request, or a bbox that is not valid, takes the general path, which also
says what is wrong. Both give the same answer: tests/api/test_box_page.py.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request

from config import params
from config.compiled import CompiledQuery
from config.params import Box
from reports.models import Report

from .filters import in_box
from .output import list_rows

ORDERING = ("-created_at", "-id")  # ReportPagination's
ASKS_NOTHING_ELSE = frozenset({"bbox", "page_size", "format"})
# Compiled with these in the parameters' places: numbers no caller sends (the box is clamped
# to the world), each distinct, so each is found exactly once.
_SAMPLE_BOX = (-1000.25, -1000.5, -1000.75, -1001.0)


def first_page_of_box(request: Request) -> BoxPage | None:
    """The page to paginate if ``request`` is the first page of a box and nothing else."""
    query = request.query_params
    if "bbox" not in query or not ASKS_NOTHING_ELSE.issuperset(query):
        return None
    if any(len(query.getlist(name)) > 1 for name in query):
        return None
    try:
        box = params.bbox(query["bbox"])
    except params.InvalidParameter:
        return None
    return BoxPage(box)


class BoxPage:
    """What CursorPagination asks of a queryset for a first page: its ordering, then one slice
    from the start (the page and one more, to know if there is a next page)."""

    def __init__(self, box: Box) -> None:
        self.box = box

    def order_by(self, *fields: str) -> BoxPage:
        if fields != ORDERING:
            raise ValueError(f"A box's first page is ordered by {ORDERING}, not {fields}.")
        return self

    def __getitem__(self, rows: slice) -> list[dict[str, Any]]:
        if rows.start not in (0, None) or rows.stop is None or rows.step is not None:
            raise ValueError(f"A box's first page is read from its start, not {rows}.")
        return _first_rows(rows.stop).run(*self.box)


@functools.cache
def _first_rows(limit: int) -> CompiledQuery:
    def build(west: float, south: float, east: float, north: float) -> QuerySet[Any, Any]:
        reports = in_box(Report.objects.public(), (west, south, east, north))
        return list_rows(reports.order_by(*ORDERING))[:limit]

    return CompiledQuery(build, *_SAMPLE_BOX, prepared=False)
