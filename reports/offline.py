"""On the street, on a phone (issue 16): the web app manifest that makes Fixpoint installable, and
the service worker that keeps the filing page and what it loads on the device, so a citizen can
write a report with no connection (static/js/offline.js keeps it as a draft and sends it later).

The worker is served from the site's root (/sw.js) by a view, not from /static/: a worker controls
only the pages under the folder it is served from, and the filing page is not under /static/. Its
code is static/js/service-worker.js, a plain file, behind one line of settings written here: what
to keep (the static files' URLs as the storage names them, hashed in production) and a version
made of all it depends on, so the browser, which compares the worker byte for byte on each visit,
installs a new one whenever a deployment, the language or signing in changes what it keeps.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

THEME_COLOUR = "#0b3d6e"  # the site header's blue (static/css/fixpoint.css)
BACKGROUND_COLOUR = "#ffffff"
WORKER_SOURCE = Path(settings.BASE_DIR) / "static" / "js" / "service-worker.js"

# Everything the filing page loads from /static/: kept on install, so the page works offline.
# tests/reports/test_offline.py fails when the page loads a script or stylesheet not listed here.
FILING_STATIC = (
    "css/fixpoint.css",
    "leaflet/leaflet.css",
    "leaflet/leaflet.extras.css",
    "leaflet/leaflet.js",
    "leaflet/leaflet.extras.js",
    "leaflet/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png",
    "leaflet/images/layers.png",
    "leaflet/images/layers-2x.png",
    "js/place_search.js",
    "js/map_pins.js",
    "js/report_new.js",
    "js/offline.js",
    "js/leaflet-i18n.js",
    "js/site_messages.js",
    "icons/icon.svg",
    "icons/icon-192.png",
)
ICONS = (
    ("icons/icon-192.png", "192x192", "any"),
    ("icons/icon-512.png", "512x512", "any"),
    ("icons/icon-maskable-512.png", "512x512", "maskable"),
)


@require_GET
@cache_control(max_age=86400, public=True)
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest (https://www.w3.org/TR/appmanifest/), in the request's language."""
    new = reverse("reports:new")
    body = {
        "name": settings.FIXPOINT_SITE_NAME,
        "short_name": "Fixpoint",
        "description": _("Report a street problem to the council responsible, even offline."),
        "lang": get_language(),
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for path, sizes, purpose in ICONS
        ],
        "shortcuts": [{"name": _("Report a problem"), "url": new}],
    }
    return JsonResponse(
        body,
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False},
    )


@require_GET
@cache_control(no_cache=True)  # the browser checks for a new worker on every visit
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, from the root so that its scope is the whole site."""
    config = worker_config(request)
    script = f"self.FIXPOINT_OFFLINE = {json.dumps(config, sort_keys=True)};\n"
    response = HttpResponse(
        script + WORKER_SOURCE.read_text(encoding="utf-8"),
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/"
    return response


def worker_config(request: HttpRequest) -> dict[str, object]:
    """What the worker keeps: the filing page (asked at the map's centre, so it holds the form),
    its static files and the scripts' translations in the reader's language."""
    language = get_language()
    filing = reverse("reports:new")
    keep = [
        *(static(path) for path in FILING_STATIC),
        f"{reverse('javascript-catalog')}?v={language}",
        reverse("reports:boundaries-json"),
    ]
    latitude, longitude = settings.MAP_CENTER
    page = f"{filing}?latitude={latitude}&longitude={longitude}"
    signed_in = bool(request.user.is_authenticated)
    stamp = json.dumps([keep, page, language, signed_in, _source_digest()])
    return {
        "version": hashlib.sha256(stamp.encode()).hexdigest()[:16],
        "filing": filing,
        "filingPage": page,
        "keep": keep,
        "static": settings.STATIC_URL
        if settings.STATIC_URL.startswith("/")
        else f"/{settings.STATIC_URL}",
    }


def _source_digest() -> str:
    return hashlib.sha256(WORKER_SOURCE.read_bytes()).hexdigest()
