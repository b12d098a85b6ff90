"""Reads of reports for the public pages."""

from __future__ import annotations

import contextlib
import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery

from authorities.geometry import distance_m
from authorities.models import Area, Authority, StaffMembership
from authorities.permissions import active_user
from config import params

from . import search
from .exceptions import NoSuchOriginal
from .models import (
    HIDDEN_STATES,
    OPEN_STATES,
    Actor,
    Questionnaire,
    QuestionnaireAnswer,
    Report,
    ReportPhoto,
    ReportState,
    ReportStateChange,
    ReportUpdate,
)


def public_reports() -> QuerySet[Report]:
    return Report.objects.public().with_related()


def public_report_detail(ref: str, viewer: Any = None) -> Report | None:
    """A report with its timeline, visible updates and photos, and its support count: a public
    one, or a private one ``viewer`` may see (Report.objects.visible_to)."""
    return (
        Report.objects.visible_to(viewer)
        .with_related()
        .select_related("area", "duplicate_of")
        .defer("area__boundary")
        .annotate(support_count=Count("supports"))
        .prefetch_related(
            Prefetch("photos", queryset=ReportPhoto.objects.filter(is_hidden=False, update=None)),
            Prefetch(
                "history",
                queryset=ReportStateChange.objects.select_related("actor").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch(
                "updates",
                queryset=ReportUpdate.objects.filter(is_hidden=False)
                .select_related("author")
                .prefetch_related(
                    Prefetch("photos", queryset=ReportPhoto.objects.filter(is_hidden=False))
                ),
            ),
        )
        .filter(ref=ref)
        .first()
    )


def nearby_open_reports(
    latitude: float, longitude: float, category_id: int, radius_m: float | None = None
) -> list[Report]:
    """Open public reports of a category within radius_m, nearest first (for "me too")."""
    radius_m = radius_m or settings.FIXPOINT_DUPLICATE_RADIUS_M
    dlat = radius_m / 111_000
    dlon = dlat / max(math.cos(math.radians(latitude)), 0.01)
    candidates = (
        Report.objects.filter(
            state__in=OPEN_STATES,
            is_private=False,
            category_id=category_id,
            latitude__range=(latitude - dlat, latitude + dlat),
            longitude__range=(longitude - dlon, longitude + dlon),
        )
        .with_related()
        .annotate(support_count=Count("supports"))[:50]
    )
    close = [(distance_m(latitude, longitude, r.latitude, r.longitude), r) for r in candidates]
    return [r for d, r in sorted(close, key=lambda pair: pair[0]) if d <= radius_m]


def search_reports(text: str, limit: int = 10) -> list[Report]:
    """The newest public reports matching the text."""
    found = search_reports_queryset(public_reports(), text)
    return list(found.order_by("-created_at")[:limit])


def search_reports_queryset(reports: QuerySet[Report], text: str) -> QuerySet[Report]:
    """Free-text search, accent- and case-insensitive, in every language (reports.search)."""
    return search.filter_by_text(reports, text)


def search_places(text: str, limit: int = 8) -> list[Area | Authority]:
    """Neighbourhoods and authorities whose name has every word of the text, ignoring accents
    and case ("gracia" finds Gràcia)."""
    areas = list(search.filter_by_name(Area.objects.all(), text).order_by("name")[:limit])
    authorities = search.filter_by_name(
        Authority.objects.filter(is_active=True, boundary__isnull=False), text
    ).order_by("name")[: max(limit - len(areas), 0)]
    return [*areas, *authorities]


def reports_in_box(
    west: float, south: float, east: float, north: float, *, filters: Any
) -> QuerySet[Report]:
    """Public reports inside a bounding box that pass the map's filters."""
    found = public_reports().filter(latitude__range=(south, north), longitude__range=(west, east))
    return filters.apply(found)


def order_for_list(
    reports: QuerySet[Report], *, sort: str, centre: tuple[float, float], limit: int
) -> list[Report]:
    if sort != "nearest":
        return list(reports.order_by("-created_at")[:limit])
    lat, lon = centre
    # Squared equirectangular distance: exact enough to order places a few km apart.
    scale = math.cos(math.radians(lat)) ** 2
    nearest = reports.annotate(
        d2=(F("latitude") - lat) * (F("latitude") - lat)
        + (F("longitude") - lon) * (F("longitude") - lon) * scale
    )
    return list(nearest.order_by("d2")[:limit])


def questionnaire_fix_rate(
    *, authority_id: int | None, category_id: int | None, since: datetime
) -> dict[str, Any]:
    """The citizens' fix rate: of the questionnaires answered since ``since`` about reports of
    the authority and category (None: all), how many said "fixed". ``fix_rate`` is None when
    nobody answered (0 answers is no evidence either way).

    Returns ``{"answered": int, "fixed": int, "not_fixed": int, "fix_rate": float | None}``.
    """
    answered = Questionnaire.objects.filter(answered_at__gte=since).exclude(answer="")
    if authority_id is not None:
        answered = answered.filter(report__authority_id=authority_id)
    if category_id is not None:
        answered = answered.filter(report__category_id=category_id)
    counts = answered.aggregate(
        answered=Count("pk"),
        fixed=Count("pk", filter=Q(answer=QuestionnaireAnswer.FIXED)),
    )
    total, fixed = counts["answered"], counts["fixed"]
    return {
        "answered": total,
        "fixed": fixed,
        "not_fixed": total - fixed,
        "fix_rate": fixed / total if total else None,
    }


# --- Staff scoping: the one rule every staff page, export, admin view and staff API uses ------


def reports_visible_to(user: Any) -> QuerySet[Report]:
    """Reports of the user's authorities (every report for a superuser, none for anybody else)."""
    reports = Report.objects.with_related()
    if not active_user(user):
        return reports.none()
    if user.is_superuser:
        return reports
    mine = StaffMembership.objects.filter(user=user).values("authority_id")
    return reports.filter(authority_id__in=mine)


def duplicate_originals(actor: Any) -> QuerySet[Report]:
    """The reports `actor` may name as the original of a duplicate: the public ones among the
    reports they see as staff (any public report for a superuser, and for the system: None).

    The one rule for the work page, the API, the admin and report_transition itself."""
    reports = Report.objects.all() if actor is None else reports_visible_to(actor)
    return reports.exclude(state__in=HIDDEN_STATES)


def find_duplicate_original(actor: Any, reference: str) -> Report:
    """The report `reference` (its ref, or its id) names, if `actor` may name it as an original;
    otherwise NoSuchOriginal, the same for a report that is hidden, out of sight or not there."""
    text = reference.strip().upper()
    candidates = duplicate_originals(actor)
    original = candidates.filter(ref=text).first()
    if original is None:  # refs are tried first
        with contextlib.suppress(params.InvalidParameter):
            original = candidates.filter(pk=params.whole_number(text, "duplicate_of")).first()
    if original is None:
        raise NoSuchOriginal()
    return original


def withdrawal_latest(report_id: int) -> ReportStateChange | None:
    """The report's latest state change if it is its reporter's withdrawal, else None."""
    latest = ReportStateChange.objects.filter(report_id=report_id).order_by("-created_at", "-id")
    change = latest.first()
    return change if change is not None and is_withdrawal(change) else None


def is_withdrawal(change: ReportStateChange) -> bool:
    # The reporter closes a report only by withdrawing it (TRANSITIONS: open -> closed).
    return change.actor_kind == Actor.REPORTER and change.to_state == ReportState.CLOSED


def withdrawal_undo_until(change: ReportStateChange) -> datetime:
    return change.created_at + timedelta(minutes=settings.FIXPOINT_WITHDRAW_UNDO_MINUTES)


def withdrawals_undoable(*, user_id: int, now: datetime) -> dict[int, datetime]:
    """{report id: until when} for the person's reports whose withdrawal they may still undo:
    the report's latest change, made within WITHDRAW_UNDO_MINUTES."""
    since = now - timedelta(minutes=settings.FIXPOINT_WITHDRAW_UNDO_MINUTES)
    latest = ReportStateChange.objects.filter(report_id=OuterRef("report_id")).order_by(
        "-created_at", "-id"
    )
    changes = ReportStateChange.objects.filter(
        report__reporter_id=user_id,
        report__state=ReportState.CLOSED,
        actor_kind=Actor.REPORTER,
        to_state=ReportState.CLOSED,
        created_at__gt=since,
        pk=Subquery(latest.values("pk")[:1]),
    )
    return {change.report_id: withdrawal_undo_until(change) for change in changes}
