"""Reads for Open311: public reports as service requests, and their public state changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from authorities.models import Category, CategoryQuestion
from reports.models import HIDDEN_STATES, Report, ReportPhoto, ReportStateChange

from .states import states_for_status


def service_requests() -> QuerySet[Report]:
    """Public reports with what a service request shows, in one query: the latest state change's
    public note and the first visible photo come from subqueries, never from a query per row.

    Boundaries are deferred: an authority's GeoJSON can weigh megabytes and is never output.
    """
    latest = ReportStateChange.objects.filter(report=OuterRef("pk")).order_by("-created_at", "-id")
    photo = ReportPhoto.objects.filter(report=OuterRef("pk"), update=None, is_hidden=False)
    return (
        Report.objects.public()
        .select_related("category", "authority", "area")
        .defer("authority__boundary", "area__boundary", "area__bbox", "extra")
        .annotate(
            latest_note=Subquery(latest.values("public_note")[:1]),
            first_photo=Subquery(photo.order_by("created_at", "id").values("image")[:1]),
        )
    )


def service_request_search(
    *,
    service_codes: list[str] | None = None,
    statuses: list[str] | None = None,
    created: tuple[datetime | None, datetime | None] = (None, None),
    updated: tuple[datetime | None, datetime | None] = (None, None),
    bbox: tuple[float, float, float, float] | None = None,
) -> QuerySet[Report]:
    """Filtered service requests, newest first. ``bbox`` is (west, south, east, north)."""
    found = service_requests()
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
        .order_by("created_at", "id")
        .values("id", "to_state", "public_note", "created_at", "report__ref")
    )
