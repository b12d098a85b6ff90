"""JSON for the site's own JavaScript (the public API for third parties is separate)."""

from __future__ import annotations

import json
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST
from shapely.geometry import mapping, shape

from authorities import routing
from authorities.models import Authority, CategoryQuestion
from config import params
from config.errors import ApplicationError
from config.replica import replica_reads

from . import mapdata, selectors
from .photos import PhotoRejected, extract_gps


def _error(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _float(request: HttpRequest, name: str) -> float:
    """lat or lon: a finite number in its range (an infinite one broke the nearest sort)."""
    parse = params.latitude if name == "lat" else params.longitude
    if name not in request.GET:
        raise params.InvalidParameter(name, f"Give {name} as a number.")
    return parse(request.GET[name], name)


@require_GET
def locate(request: HttpRequest) -> JsonResponse:
    """Who would receive a report here, per category, with each category's extra questions."""
    try:
        location = routing.locate(_float(request, "lat"), _float(request, "lon"))
    except ApplicationError as exc:
        return _error(exc.code, exc.message, 404 if exc.code == "no_authority_here" else 400)
    questions: dict[int, list[dict[str, Any]]] = {}
    for q in CategoryQuestion.objects.filter(
        category_id__in=[o.category.id for o in location.offers]
    ):
        questions.setdefault(q.category_id, []).append(
            {
                "code": q.code,
                "label": q.label,
                "datatype": q.datatype,
                "required": q.required,
                "values": q.values,
                "help_text": q.help_text,
            }
        )
    answer = location.as_dict()  # the API's answer, plus what the filing form draws
    for offer, category in zip(location.offers, answer["categories"], strict=True):
        category["colour"] = offer.category.colour
        category["questions"] = questions.get(offer.category.id, [])
    return JsonResponse(answer)


@require_GET
def nearby(request: HttpRequest) -> JsonResponse:
    """Open reports of a category close to a point: the "me too" suggestions."""
    try:
        lat, lon = _float(request, "lat"), _float(request, "lon")
        routing.check_coordinates(lat, lon)
    except ApplicationError as exc:
        return _error(exc.code, exc.message)
    category = routing.get_index().categories
    slug = request.GET.get("category", "")
    category_id = next((c.id for c in category.values() if c.slug == slug), None)
    if category_id is None:
        return _error("unknown_category", f"There is no category {slug!r}.")
    reports = selectors.nearby_open_reports(lat, lon, category_id)
    return JsonResponse(
        {
            "reports": [
                {
                    "ref": r.ref,
                    "title": r.title,
                    "state": r.get_state_display(),
                    "url": r.get_absolute_url(),
                    "supports": getattr(r, "support_count", 0),
                    "created": r.created_at.isoformat(),
                }
                for r in reports
            ]
        }
    )


@require_GET
def search(request: HttpRequest) -> JsonResponse:
    text = request.GET.get("q", "").strip()
    if len(text) < 2:
        return JsonResponse({"places": [], "reports": []})
    places = [
        {
            "name": p.name,
            "kind": getattr(p, "kind", ""),
            "bbox": p.bbox if hasattr(p, "bbox") else list(shape(p.boundary).bounds),
        }
        for p in selectors.search_places(text)
    ]
    reports = [
        {
            "ref": r.ref,
            "title": r.title,
            "url": r.get_absolute_url(),
            "lat": r.latitude,
            "lon": r.longitude,
            "state": r.get_state_display(),
        }
        for r in selectors.search_reports(text)
    ]
    return JsonResponse({"places": places, "reports": reports})


@require_GET
def boundaries(request: HttpRequest) -> JsonResponse:
    """Authority boundaries for the map layer, simplified (a few metres) and cached."""
    version, changed_at = routing.get_index().version
    key = f"boundaries:{version}:{changed_at}"
    data = cache.get(key)
    if data is None:
        data = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": mapping(shape(a.boundary).simplify(0.00005)),
                    "properties": {"slug": a.slug, "name": a.name, "kind": a.kind},
                }
                for a in Authority.objects.filter(
                    is_active=True, boundary__isnull=False
                ).select_related("parent")
            ],
        }
        data = json.loads(json.dumps(data))
        cache.set(key, data, timeout=24 * 3600)
    return JsonResponse(data)


@require_POST
def photo_gps(request: HttpRequest) -> JsonResponse:
    """Where a photo was taken, from its EXIF, to offer placing the pin there."""
    upload = request.FILES.get("photo")
    if upload is None:
        return _error("missing_photo", "Send the photo as 'photo'.")
    try:
        gps = extract_gps(upload)
    except PhotoRejected as exc:
        return _error(exc.code, exc.message)
    return JsonResponse({"latitude": gps[0], "longitude": gps[1]} if gps else {})


@replica_reads
@require_GET
def viewport_list(request: HttpRequest) -> JsonResponse:
    """The reports in the visible part of the map, newest or nearest first, for the list."""
    try:
        west, south, east, north = mapdata.parse_bbox(request.GET.get("bbox"))
        centre = (
            (_float(request, "lat"), _float(request, "lon"))
            if "lat" in request.GET
            else ((south + north) / 2, (west + east) / 2)
        )
        filters = mapdata.MapFilters.from_query(request.GET)
    except ApplicationError as exc:
        return _error(exc.code, exc.message)
    found = selectors.reports_in_box(west, south, east, north, filters=filters)
    ordered = selectors.order_for_list(
        found, sort=request.GET.get("sort", "newest"), centre=centre, limit=50
    )
    return JsonResponse(
        {
            "total": found.count(),
            "reports": [
                {
                    "ref": r.ref,
                    "title": r.title,
                    "url": r.get_absolute_url(),
                    "state": r.state,
                    "state_label": r.get_state_display(),
                    "category": r.category.name,
                    "created": r.created_at.date().isoformat(),
                    "lat": r.latitude,
                    "lon": r.longitude,
                }
                for r in ordered
            ],
        }
    )
