"""HTTP for the channels that POST (Open311, webhooks) and for status polling: no redirects, a
timeout, and every answer but 2xx as a DeliveryFailure."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from .failures import PermanentFailure, TemporaryFailure, _text, timeout_seconds


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A POST must not silently turn into a GET elsewhere: a redirect is a wrong endpoint URL.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


# Worth another try: the remote side is busy, down or slow. Any other 3xx/4xx is permanent.
RETRY_STATUSES = frozenset({408, 425, 429})


def post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """POST and return the response body; raise a DeliveryFailure for anything but 2xx."""
    return _call(url, "POST", body, headers)


def get(url: str, headers: dict[str, str] | None = None) -> bytes:
    """GET (status polling, reports.delivery.status_sync), with the same failures as post()."""
    return _call(url, "GET", None, {"User-Agent": "Fixpoint", **(headers or {})})


def _call(url: str, method: str, body: bytes | None, headers: dict[str, str]) -> bytes:
    if urlsplit(url).scheme not in ("http", "https"):
        raise PermanentFailure(f"The endpoint URL {url!r} is not an http(s) URL.")
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout_seconds()) as response:
            return bytes(response.read(1_000_000))
    except urllib.error.HTTPError as exc:
        detail = _text(exc.read(500)).strip()
        failure = (
            TemporaryFailure if exc.code >= 500 or exc.code in RETRY_STATUSES else PermanentFailure
        )
        raise failure(f"HTTP {exc.code} from {url}: {detail}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise TemporaryFailure(f"{url} unreachable: {type(exc).__name__}: {exc}") from exc
