"""Reads for Open311: public reports as service requests, and their public state changes."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from authorities.models import Category, CategoryQuestion
from config.compiled import CompiledQuery
from reports.models import HIDDEN_STATES, Report, ReportPhoto, ReportStateChange

from .states import states_for_status

ROW_FIELDS = (
    "ref",
    "state",
    "title",
    "description",
    "created_at",
    "updated_at",
    "latitude",
    "longitude",
    "category__name",
    "category__slug",
    "authority__name",
    "area__name",
    "address",
    "latest_note",
    "first_photo",
)


def service_request_rows(reports: QuerySet[Report]) -> QuerySet[Report, dict[str, Any]]:
    """What a service request shows, as plain dicts in one query: the latest state change's
    public note and the first visible photo come from subqueries, never from a query per row.
    Dicts, not model instances: building four instances per row was most of a list's time."""
    latest = ReportStateChange.objects.filter(report=OuterRef("pk")).order_by("-created_at", "-id")
    photo = ReportPhoto.objects.filter(report=OuterRef("pk"), update=None, is_hidden=False)
    return reports.annotate(
        latest_note=Subquery(latest.values("public_note")[:1]),
        first_photo=Subquery(photo.order_by("created_at", "id").values("image")[:1]),
    ).values(*ROW_FIELDS)


def service_requests(refs: list[str]) -> list[dict[str, Any]]:
    """The public service requests with these ids (refs), newest first."""
    found = Report.objects.public().filter(ref__in=refs)
    return list(service_request_rows(found).order_by("-created_at", "-id"))


def service_request(ref: str) -> dict[str, Any] | None:
    rows = _BY_REF.run(ref)
    return rows[0] if rows else None


# The single request's SQL, compiled once: compiling took longer than PostgreSQL took to plan and
# run it (docs/benchmarks.md). NUL is a value no caller can send (views refuse it).
_BY_REF = CompiledQuery(
    lambda ref: service_request_rows(Report.objects.public().filter(ref=ref)), "\x00slot\x00"
)


def service_request_page(found: QuerySet[Report], start: int, size: int) -> list[dict[str, Any]]:
    """One page of a search. The page's ids come from a subquery (LIMIT/OFFSET on the index
    alone), so the per-row subqueries run for the page's rows only, not for every row OFFSET
    skips, so a late page takes as long as the first."""
    return list(_page_rows(found, start, size))


def service_request_list(
    *,
    service_codes: list[str],
    statuses: list[str],
    created: tuple[datetime | None, datetime | None],
    updated: tuple[datetime | None, datetime | None],
    bbox: tuple[float, float, float, float] | None,
    start: int,
    size: int,
) -> list[dict[str, Any]]:
    """A page of service_request_search(...). The search almost every client makes, by dates
    alone (a range, or the spec's default 90 days) page by page, runs SQL compiled once per page
    position: building it took a sixth of such a request."""
    since, until = created
    if since is not None and not (service_codes or statuses or bbox or any(updated)):
        if until is None:
            return _dated_page(start, size, bounded=False).run(since)
        return _dated_page(start, size, bounded=True).run(since, until)
    found = service_request_search(
        service_codes=service_codes, statuses=statuses, created=created, updated=updated, bbox=bbox
    )
    return service_request_page(found, start, size)


def _page_rows(found: QuerySet[Report], start: int, size: int) -> QuerySet[Report, dict[str, Any]]:
    page = found.values("pk")[start : start + size]
    return _all_rows().filter(pk__in=page).order_by("-created_at", "-id")


# No client sends these instants: CompiledQuery finds each among the compiled parameters.
_SINCE = datetime(1901, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
_UNTIL = datetime(1901, 2, 3, 4, 5, 6, 8, tzinfo=UTC)


@functools.lru_cache(maxsize=256)  # LIMIT and OFFSET are part of the SQL: one per page position
def _dated_page(start: int, size: int, *, bounded: bool) -> CompiledQuery:
    def build(since: datetime, until: datetime | None = None) -> QuerySet[Report, dict[str, Any]]:
        return _page_rows(service_request_search(created=(since, until)), start, size)

    return CompiledQuery(build, *((_SINCE, _UNTIL) if bounded else (_SINCE,)))


@functools.cache
def _all_rows() -> QuerySet[Report, dict[str, Any]]:
    """Built once: resolving the subqueries took a tenth of a page's time. Never evaluated
    itself; filter() answers a copy."""
    return service_request_rows(Report.objects.all())


def service_request_search(
    *,
    service_codes: list[str] | None = None,
    statuses: list[str] | None = None,
    created: tuple[datetime | None, datetime | None] = (None, None),
    updated: tuple[datetime | None, datetime | None] = (None, None),
    bbox: tuple[float, float, float, float] | None = None,
) -> QuerySet[Report]:
    """Filtered public reports, newest first. ``bbox`` is (west, south, east, north)."""
    found: QuerySet[Report] = Report.objects.public()
    if service_codes:
        found = found.filter(category__slug__in=service_codes)
    if statuses:
        found = found.filter(
            state__in=[s for status in statuses for s in states_for_status(status)]
        )
    found = _between(found, "created_at", created)
    found = _between(found, "updated_at", updated)
    if bbox is not None:
        west, south, east, north = bbox
        found = found.filter(latitude__range=(south, north), longitude__range=(west, east))
    return found.order_by("-created_at", "-id")


def _between(
    found: QuerySet[Report], field: str, bounds: tuple[datetime | None, datetime | None]
) -> QuerySet[Report]:
    start, end = bounds
    if start is not None:
        found = found.filter(**{f"{field}__gte": start})
    if end is not None:
        found = found.filter(**{f"{field}__lte": end})
    return found


def services(category_ids: list[int] | None = None) -> QuerySet[Category]:
    """Active categories some active authority handles (or exactly those ids), in the site's
    order, each knowing whether it has extra questions."""
    found = Category.objects.filter(is_active=True).annotate(
        has_questions=Exists(CategoryQuestion.objects.filter(category=OuterRef("pk")))
    )
    if category_ids is not None:
        return found.filter(pk__in=category_ids)
    handled = Category.objects.filter(
        handled_by__is_active=True, handled_by__authority__is_active=True
    ).values("pk")
    return found.filter(pk__in=handled)


def public_state_changes(start: datetime, end: datetime) -> QuerySet[ReportStateChange, Any]:
    """State changes of public reports after they became public, oldest first (the filing and
    the e-mail confirmation are not updates; a move to spam is never public)."""
    return (
        ReportStateChange.objects.filter(created_at__gte=start, created_at__lte=end)
        .exclude(from_state__in=["", "unconfirmed"])
        .exclude(to_state__in=HIDDEN_STATES)
        .exclude(report__state__in=HIDDEN_STATES)
        .exclude(report__is_private=True)
        .order_by("created_at", "id")
        .values("id", "to_state", "public_note", "created_at", "report__ref")
    )


def filed_it(report: Report, user_id: int) -> bool:
    """Whether this account filed the report: it is its reporter, or it filed it for a citizen
    (the actor of the report's first history row)."""
    if report.reporter_id == user_id:
        return True
    first = report.history.order_by("created_at", "id").values_list("actor_id", flat=True)[:1]
    return list(first) == [user_id]
