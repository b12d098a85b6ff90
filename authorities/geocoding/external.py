"""An optional external geocoder (Nominatim or Photon), through geopy, for places the local
gazetteer does not know. Off unless GEOCODER_URL is set.

The providers' usage policies (Nominatim's: an identifying user agent, at most one request a
second, results cached) are kept here for every process at once:
- every request names the site in its User-Agent (GEOCODER_USER_AGENT);
- each request takes its own slot of 1/GEOCODER_RATE_LIMIT seconds, shared by all processes
  that share the cache (one atomic `cache.add` per slot), and starts no earlier than its slot:
  never more than the rate. A request waits for the next slot, and for later ones up to
  GEOCODER_MAX_WAIT seconds; with none free it does not ask at all. geopy's own retries are off
  (a retry would take no slot);
- answers, empty ones too, are kept in Django's cache for GEOCODER_CACHE_SECONDS, so a question
  asked again is not sent again; a 429 pauses all requests for its Retry-After.
A provider that fails or times out makes the search answer from the local gazetteer alone.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from geopy.adapters import RequestsAdapter
from geopy.exc import GeocoderRateLimited, GeopyError
from geopy.geocoders import Nominatim, Photon
from geopy.location import Location

from config.baseurl import base_url

from .local import Hit

logger = logging.getLogger(__name__)

PHOTON_ATTRIBUTION = "Data © OpenStreetMap contributors, ODbL 1.0 (via Photon)"
_PAUSE_KEY = "geocoder:paused"
# Nominatim's class/type and Photon's type, to Fixpoint's kinds.
AREA_TYPES = frozenset(
    (  # noqa: SIM905
        "city town village hamlet suburb quarter neighbourhood borough district county state "
        "country municipality locality administrative postcode"
    ).split()
)


def enabled() -> bool:
    return bool(settings.FIXPOINT_GEOCODER_URL)


def search(
    text: str, *, limit: int, viewbox: tuple[float, float, float, float] | None
) -> list[Hit]:
    """The provider's answers for a text, biased to the served area's box (west, south, east,
    north) but not limited to it: what lies outside is then explained, not hidden."""
    key = _cache_key("search", text.strip().casefold(), limit, viewbox)

    def ask(client: Any) -> list[Location]:
        if isinstance(client, Photon):
            bbox = [(viewbox[1], viewbox[0]), (viewbox[3], viewbox[2])] if viewbox else None
            return client.geocode(text, exactly_one=False, limit=limit, bbox=bbox) or []
        box = [(viewbox[1], viewbox[0]), (viewbox[3], viewbox[2])] if viewbox else None
        return client.geocode(text, exactly_one=False, limit=limit, viewbox=box) or []

    return _cached(key, ask)


def reverse(latitude: float, longitude: float) -> Hit | None:
    key = _cache_key("reverse", f"{latitude:.5f},{longitude:.5f}")

    def ask(client: Any) -> list[Location]:
        found = client.reverse((latitude, longitude), exactly_one=True)
        return [found] if found else []

    hits = _cached(key, ask)
    return hits[0] if hits else None


def _cached(key: str, ask: Any) -> list[Hit]:
    cached = cache.get(key)
    if cached is not None:
        return [Hit(**fields) for fields in cached]
    if cache.get(_PAUSE_KEY) or not _wait_for_turn():
        logger.info("External geocoder skipped: its rate limit leaves no turn now")
        return []
    try:
        locations = ask(_client())
    except GeocoderRateLimited as exc:
        pause = int(exc.retry_after or 60)
        cache.set(_PAUSE_KEY, 1, pause)
        logger.warning("External geocoder said 429: paused for %s s", pause)
        return []
    except GeopyError as exc:
        logger.warning("External geocoder failed: %s", exc)
        return []
    hits = [hit for hit in (_hit(location) for location in locations) if hit]
    cache.set(key, [asdict(hit) for hit in hits], settings.FIXPOINT_GEOCODER_CACHE_SECONDS)
    return hits


def _wait_for_turn() -> bool:
    """Claim the next free slot of 1/rate seconds, shared by every process through the cache, and
    sleep until it starts. Each slot is claimed once and its request starts at the slot's start,
    so requests start at least 1/rate apart (processes on several machines need synchronised
    clocks). Slots up to GEOCODER_MAX_WAIT ahead are tried, and always the next one."""
    interval = 1.0 / settings.FIXPOINT_GEOCODER_RATE_LIMIT
    now = time.time()
    first = math.ceil(now / interval)
    last = math.floor((now + max(settings.FIXPOINT_GEOCODER_MAX_WAIT, interval)) / interval)
    for slot in range(first, last + 1):
        if cache.add(f"geocoder:slot:{slot}", 1, timeout=math.ceil(interval) + 60):
            delay = slot * interval - time.time()
            if delay > 0:
                time.sleep(delay)
            return True
    return False


def _cache_key(*parts: Any) -> str:
    identity = "|".join(
        map(str, (settings.FIXPOINT_GEOCODER_PROTOCOL, settings.FIXPOINT_GEOCODER_URL, *parts))
    ).encode()
    return "geocoder:answer:" + hashlib.sha256(identity).hexdigest()


_clients: dict[tuple[str, ...], Any] = {}


def _client() -> Any:
    """A geopy geocoder for the configured provider (one per configuration and process)."""
    url = urlsplit(settings.FIXPOINT_GEOCODER_URL)
    config = (
        settings.FIXPOINT_GEOCODER_PROTOCOL,
        url.scheme or "https",
        (url.netloc + url.path).rstrip("/"),
        user_agent(),
        str(settings.FIXPOINT_GEOCODER_TIMEOUT),
    )
    client = _clients.get(config)
    if client is None:
        kind = Photon if settings.FIXPOINT_GEOCODER_PROTOCOL == "photon" else Nominatim
        client = kind(
            domain=config[2],
            scheme=config[1],
            user_agent=config[3],
            timeout=float(config[4]),
            adapter_factory=_adapter,
        )
        _clients[config] = client
    return client


def _adapter(*, proxies: Any, ssl_context: Any) -> RequestsAdapter:
    # No retries inside geopy: a retry would be a request that took no turn (the rate limit),
    # and it would ignore a 429's Retry-After. The next search asks again.
    return RequestsAdapter(proxies=proxies, ssl_context=ssl_context, max_retries=0)


def user_agent() -> str:
    return settings.FIXPOINT_GEOCODER_USER_AGENT or f"{settings.FIXPOINT_SITE_NAME} ({base_url()})"


def _hit(location: Location) -> Hit | None:
    raw = location.raw if isinstance(location.raw, dict) else {}
    if settings.FIXPOINT_GEOCODER_PROTOCOL == "photon":
        return _photon_hit(location, raw)
    kind = _nominatim_kind(raw)
    label = str(raw.get("display_name") or location.address or "")
    if not label:
        return None
    attribution = str(raw.get("licence") or "")
    return Hit(label, location.latitude, location.longitude, kind, 0.0, "external", attribution)


def _nominatim_kind(raw: dict[str, Any]) -> str:
    category = raw.get("category") or raw.get("class") or ""
    kind = raw.get("addresstype") or raw.get("type") or ""
    address = _dict(raw.get("address"))
    if kind in ("house", "building") or address.get("house_number"):
        return "address"
    if category == "highway":
        return "street"
    if category in ("boundary", "place") or kind in AREA_TYPES:
        return "area"
    return "place"


def _photon_hit(location: Location, raw: dict[str, Any]) -> Hit | None:
    properties = _dict(raw.get("properties"))
    kind = str(properties.get("type") or "")
    street = " ".join(
        str(p) for p in (properties.get("street"), properties.get("housenumber")) if p
    )
    head = str(properties.get("name") or street or "")
    tail = ", ".join(
        str(properties[p]) for p in ("postcode", "city", "country") if properties.get(p)
    )
    label = ", ".join(filter(None, (head, tail)))
    if not label:
        return None
    if kind == "house" or properties.get("housenumber"):
        fixpoint_kind = "address"
    elif kind == "street":
        fixpoint_kind = "street"
    elif kind in AREA_TYPES:
        fixpoint_kind = "area"
    else:
        fixpoint_kind = "place"
    return Hit(
        label,
        location.latitude,
        location.longitude,
        fixpoint_kind,
        0.0,
        "external",
        PHOTON_ATTRIBUTION,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
