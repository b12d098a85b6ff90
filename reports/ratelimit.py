"""The rate limit of filing a report, one rule for the website, the REST API and Open311.

Counted by the site's one window counter (config.cache.count_many, which counts the API's request
rates too): every counter of a filing in one cache round trip, in fixed windows."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.conf import settings

from config.cache import count_many

if TYPE_CHECKING:
    from accounts.models import ApiClient, User

TOO_MANY_REPORTS = "Several reports were sent in a short time: wait before sending another."


def report_filing_wait(
    request: object,
    *,
    reporter: User | None,
    email: str,
    client: ApiClient | None = None,
    action: str = "report",
) -> int:
    """Count one report about to be filed: 0 if it may be, else the seconds until the window
    that refuses it ends. Every limit counts it, refused or not. In windows of
    REPORT_RATE_WINDOW_MINUTES (README, "Rate limits"):

    - the person it is for, REPORT_RATE_LIMIT: their account, or the e-mail address that is to
      confirm it (a visitor on the website, a citizen an app files for). A key that files as its
      own account is a system, which its key's limit bounds;
    - where it comes from: an API key, REPORT_RATE_LIMIT_PER_KEY (an app files for many people
      from a few servers, so the key stands for them rather than their addresses); without a
      key, the IP address, 4 x REPORT_RATE_LIMIT.

    ``action`` counts something else by the same numbers, apart from filings (``"update"``: an
    update whose photos are to be decoded).
    """
    limit = settings.FIXPOINT_REPORT_RATE
    limits: list[tuple[str, int]] = []
    if client is None or client.files_for_citizens:
        person = f"user:{reporter.pk}" if reporter is not None else f"email:{email.lower()}"
        limits.append((f"{action}:{person}", limit))
    if client is None:
        limits.append((f"{action}:ip:{client_ip(request)}", limit * 4))
    else:
        limits.append((f"{action}:key:{client.pk}", settings.FIXPOINT_REPORT_RATE_PER_KEY))
    seconds = settings.FIXPOINT_REPORT_RATE_WINDOW_MINUTES * 60
    now = clock()
    window = int(now // seconds)
    counts = count_many([(f"ratelimit:{key}:{window}", seconds + 1, most) for key, most in limits])
    if all(count <= most for count, (_, most) in zip(counts, limits, strict=True)):
        return 0
    return max(1, int((window + 1) * seconds - now))


def clock() -> float:
    return time.time()


def client_ip(request: object) -> str:
    # REMOTE_ADDR is the proxy's address behind a load balancer; gunicorn is expected to be
    # started with --forwarded-allow-ips so that it is rewritten to the client's.
    meta = getattr(request, "META", {})
    return str(meta.get("REMOTE_ADDR", "unknown"))
