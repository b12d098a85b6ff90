"""JSON for the site's own JavaScript (the public API for third parties is separate).

Every view is a config.jsonapi.endpoint: a wrong method is a 405 with `Allow`, and the errors it
raises (a bad parameter, a point nobody covers, an unknown category) get the same status and
body as on the API."""

from __future__ import annotations

import json
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from shapely.geometry import mapping, shape

from authorities import routing
from authorities.models import Authority, Category, CategoryQuestion
from config import params
from config.errors import ApplicationError
from config.jsonapi import endpoint
from config.replica import replica_reads

from . import map as mapdata
from . import selectors
from .photos import extract_gps

MISSING = "This field is required."


class MissingPhoto(ApplicationError):
    code = "missing_photo"


def _point(request: HttpRequest) -> tuple[float, float]:
    """lat and lon: finite numbers in range (an infinite one broke the nearest sort)."""
    return params.point(request.GET.get("lat"), request.GET.get("lon"))


@endpoint("GET")
def locate(request: HttpRequest) -> JsonResponse:
    """Who would receive a report here, per category, with each category's extra questions."""
    location = routing.locate(*_point(request))
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


@endpoint("GET")
def nearby(request: HttpRequest) -> JsonResponse:
    """Open reports of a category close to a point: the "me too" suggestions."""
    lat, lon = _point(request)
    category = routing.category(request.GET.get("category", ""))
    reports = selectors.nearby_open_reports(lat, lon, category.pk)
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


# An area's kind is free text from its boundary file; the usual ones are shown translated.
AREA_KINDS = {"neighbourhood": _("neighbourhood"), "district": _("district")}


def _kind_label(place: Any) -> str:
    if isinstance(place, Authority):
        return str(place.get_kind_display())
    return str(AREA_KINDS.get(place.kind, place.kind))


@endpoint("GET")
def search(request: HttpRequest) -> JsonResponse:
    text = request.GET.get("q", "").strip()
    if len(text) < 2:
        return JsonResponse({"places": [], "reports": []})
    places = [
        {
            "name": p.name,
            "kind": getattr(p, "kind", ""),
            "kind_label": _kind_label(p),
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
    categories = [
        {"slug": c.slug, "name": c.name}
        for c in Category.objects.filter(pk__in=selectors.search.matching_categories(text))
    ]
    return JsonResponse({"places": places, "categories": categories, "reports": reports})


@endpoint("GET")
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


@endpoint("POST")
def photo_gps(request: HttpRequest) -> JsonResponse:
    """Where a photo was taken, from its EXIF, to offer placing the pin there."""
    upload = request.FILES.get("photo")
    if upload is None:
        raise MissingPhoto(
            str(_("Send the photo as 'photo'.")), extra={"fields": {"photo": [MISSING]}}
        )
    gps = extract_gps(upload)
    return JsonResponse({"latitude": gps[0], "longitude": gps[1]} if gps else {})


@replica_reads
@endpoint("GET")
def viewport_list(request: HttpRequest) -> JsonResponse:
    """The reports in the visible part of the map, newest or nearest first, for the list."""
    west, south, east, north = params.bbox(request.GET.get("bbox"))
    centre = params.optional_point(request.GET.get("lat"), request.GET.get("lon")) or (
        (south + north) / 2,
        (west + east) / 2,
    )
    filters = mapdata.MapFilters.from_query(request.GET)
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
                    "created": timezone.localdate(r.created_at).isoformat(),
                    "created_label": date_format(timezone.localdate(r.created_at)),
                    "lat": r.latitude,
                    "lon": r.longitude,
                }
                for r in ordered
            ],
        }
    )
