"""`Idempotency-Key` on writes: a client that lost its answer (a worker killed, the network cut)
sends the same request with the same key again and gets the first answer, and nothing is written
twice. Stripe's semantics:

- a key is the client's own (scoped to the API key, or to the account for tokens and sessions),
  1 to 255 visible ASCII characters, remembered for 24 hours;
- the same key with the same request (method, path, query and body) within 24 hours answers what
  the first one answered, with `Idempotent-Replayed: true`, and writes nothing;
- the same key with a different request is a 422 (`idempotency_key_reused`);
- only answers that wrote something (2xx) are kept: a refused request wrote nothing, so sending it
  again is safe and is decided afresh;
- a request sent while another with the same key is still running waits for it (the database's
  unique index holds it), then answers as it did; if the first failed, the second is done. Stripe
  answers 409 there; waiting gives a client that retried too early its answer at once.

The kept answer is inserted in the write's own transaction, so it is committed exactly when the
write is: a worker killed between the commit and the answer leaves both, and the retry finds the
answer. The key is not looked up first: nearly every key is new, and the look-up was one of a
filing's five round trips to the database. The write is done, and the insert of its answer finds
the key taken if it was (``ON CONFLICT DO NOTHING``, waiting for a duplicate still running): the
whole transaction, the report too, is then rolled back and the kept answer given. A request that
fails on the way (a 4xx, an error) also looks for a kept answer, so a retry of a filing that
succeeded answers as it did even if doing it again would now be refused. So a retry costs a write
rolled back and counts in the rate limits as any request does. A request with files (photos) is
looked up first: doing it again to find out would decode and store its photos for nothing.
Requests without the header cost one dictionary lookup.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response

from config.compiled import CompiledQuery, field_names, instance
from config.errors import ApplicationError
from config.inserts import insert_unless_taken

from .models import ApiClient, IdempotencyKey

HEADER = "Idempotency-Key"
META = "HTTP_IDEMPOTENCY_KEY"
REPLAYED = "Idempotent-Replayed"
KEPT_FOR = timedelta(hours=24)
VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")

View = TypeVar("View", bound=Callable[..., Any])


class InvalidIdempotencyKey(ApplicationError):
    code = "invalid_idempotency_key"
    status = 400


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422


def respond_once(
    request: HttpRequest, *, scope: str, data: Any, call: Callable[[], HttpResponse]
) -> HttpResponse:
    """``call()`` (a write that answers a rendered response), at most once per key in
    ``request``'s Idempotency-Key header within ``scope``. Without the header, just ``call()``."""
    key = request.META.get(META)
    if key is None:
        return call()
    if not VALID_KEY.fullmatch(key):
        raise InvalidIdempotencyKey(
            _("%(header)s must be 1 to 255 visible ASCII characters (a UUID will do).")
            % {"header": HEADER}
        )
    fingerprint = _fingerprint(request, data)
    if request.FILES and (replayed := _replay_kept(scope, key, fingerprint)) is not None:
        return replayed
    for _attempt in range(2):
        try:
            with transaction.atomic():
                response = call()
                if _succeeded(response) and not _keep(scope, key, fingerprint, response):
                    raise _Taken  # rolls the write back
        except _Taken:
            if (replayed := _replay_kept(scope, key, fingerprint)) is not None:
                return replayed
            continue  # kept more than 24 hours ago and forgotten now: do it afresh
        except Exception:
            if (replayed := _replay_kept(scope, key, fingerprint)) is not None:
                return replayed
            raise
        if _succeeded(response):
            return response
        replayed = _replay_kept(scope, key, fingerprint)
        return response if replayed is None else replayed
    raise IntegrityError(f"Idempotency key {key!r} of {scope} is taken and not kept")


def _succeeded(response: HttpResponse) -> bool:
    return 200 <= response.status_code < 300  # only what wrote something is kept


def _replay_kept(scope: str, key: str, fingerprint: str) -> HttpResponse | None:
    kept = _kept(scope, key)
    return None if kept is None else _replay(kept, fingerprint)


class _Taken(Exception):
    """The key's answer is kept already: the write just done is not to be committed."""


def idempotent_action(method: View) -> View:
    """For a DRF view's POST handler or action: the Idempotency-Key rules above, scoped to the
    request's API key or account. It runs after authentication, permissions and throttles."""

    @functools.wraps(method)
    def handler(view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        if META not in request.META:
            return method(view, request, *args, **kwargs)

        def rendered() -> HttpResponse:
            response = method(view, request, *args, **kwargs)
            response = view.finalize_response(request, response, *args, **kwargs)
            if isinstance(response, Response):
                response.render()
            return response

        return respond_once(request, scope=api_scope(request), data=request.data, call=rendered)

    handler.idempotent = True  # type: ignore[attr-defined]  # config.api documents the header
    return handler  # type: ignore[return-value]


def api_scope(request: Request) -> str:
    """Whose keys these are: the API key's, else the signed-in account's."""
    if isinstance(request.auth, ApiClient):
        return client_scope(request.auth)
    return f"user:{request.user.pk}"


def client_scope(client: ApiClient) -> str:
    return f"client:{client.pk}"


def idempotency_keys_expire(*, now: datetime | None = None) -> int:
    """Forget kept answers older than 24 hours (Celery beat, hourly); how many were forgotten."""
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lt=(now or timezone.now()) - KEPT_FOR
    ).delete()
    return deleted


def _kept_query(scope: str, key: str) -> QuerySet[IdempotencyKey, dict[str, Any]]:
    return IdempotencyKey.objects.filter(scope=scope, key=key).values(*field_names(IdempotencyKey))


# Every write with a key looks it up first: by SQL compiled once (config.compiled), since
# building the query cost more than PostgreSQL took to answer it. Samples no key can be.
_KEPT = CompiledQuery(_kept_query, "\x00scope", "\x00key")


def _kept(scope: str, key: str) -> IdempotencyKey | None:
    rows = _KEPT.run(scope, key)  # (scope, key) is unique: one row or none
    kept = instance(IdempotencyKey, rows[0]) if rows else None
    if kept is not None and kept.created_at < timezone.now() - KEPT_FOR:
        # Forgotten, even if the hourly clean-up has not come yet; the row would block the insert.
        IdempotencyKey.objects.filter(pk=kept.pk, created_at=kept.created_at).delete()
        return None
    return kept


def _keep(scope: str, key: str, fingerprint: str, response: HttpResponse) -> bool:
    """Keep ``response`` as the key's answer, unless the key has one: whether it was kept."""
    row = IdempotencyKey(
        scope=scope,
        key=key,
        fingerprint=fingerprint,
        status=response.status_code,
        content_type=response.get("Content-Type", ""),
        body=response.content,
        created_at=timezone.now(),
    )
    return insert_unless_taken(row)


def _replay(kept: IdempotencyKey, fingerprint: str) -> HttpResponse:
    if kept.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            _(
                "This %(header)s was used for a different request in the last 24 hours; "
                "use a new key for a new request."
            )
            % {"header": HEADER}
        )
    response = HttpResponse(bytes(kept.body), status=kept.status, content_type=kept.content_type)
    response[REPLAYED] = "true"
    return response


def _fingerprint(request: HttpRequest, data: Any) -> str:
    """The request as a client means it: method, path, query and parsed body, whatever the order
    of keys or parameters and the body's spacing."""
    canonical = [request.method, request.path, _plain(request.GET), _plain(data)]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(data: Any) -> Any:
    if isinstance(data, QueryDict):  # form fields (files by their names), by name
        return sorted((name, [str(v) for v in data.getlist(name)]) for name in data)
    return data
