"""How a delivery leaves Fixpoint: e-mail, Open311 GeoReport v2 or a signed webhook.

Each sender takes a Delivery (with its report and destination loaded), sends it once and returns
the id the remote side gave it (or "" when it gives none). It raises TemporaryFailure for what may
work later (a server down, 4xx from SMTP, HTTP 5xx/429/408, a timeout) and PermanentFailure for
what will not (a refused address, HTTP 4xx, a destination with no address). It never touches the
database: reports.delivery records the outcome.

Every message carries an idempotency key that all attempts of its delivery share (Message-ID for
e-mail, Delivery.idempotency_key in the Idempotency-Key header over HTTP), so a resend after a
worker died mid-send can be recognised.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from email.utils import parseaddr
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import DatabaseError
from django.template.loader import render_to_string

from authorities.models import AuthorityCategory, DeliveryMethod
from config.encryption import Secret, SecretUnreadable
from config.text import header_safe

from .models import Delivery, Report


class DeliveryFailure(Exception):
    permanent = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:2000]


class TemporaryFailure(DeliveryFailure):
    """Worth trying again later."""


class PermanentFailure(DeliveryFailure):
    """Trying again will not help: somebody must fix the destination or the report."""

    permanent = True


T = TypeVar("T")


def built(what: str, build: Callable[[], T]) -> T:
    """What `build` makes from stored data (a message, a body): building it again builds the
    same thing, so a failure here is permanent (a header that cannot be written, a template
    error), never retried as temporary. A database error meanwhile is not about the data: it
    stays an unexpected, temporary one."""
    try:
        return build()
    except (DeliveryFailure, DatabaseError):
        raise
    except Exception as exc:
        raise PermanentFailure(
            f"The {what} could not be built: {type(exc).__name__}: {exc}. Fix the report or the "
            "destination, then resend it."
        ) from exc


def smtp_failure(exc: smtplib.SMTPException | OSError) -> DeliveryFailure:
    """An SMTP error as a failure: refused for good (5xx, every recipient) is permanent, anything
    else (4xx, the server down or unreachable) temporary. Also for citizens' e-mail."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        failure = PermanentFailure if codes and all(c >= 500 for c in codes) else TemporaryFailure
        return failure(f"SMTP refused the address: {_smtp_reason(exc.recipients)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        failure = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
        return failure(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}")
    return TemporaryFailure(f"SMTP unavailable: {type(exc).__name__}: {exc}")


def setting(name: str, default: Any) -> Any:
    """Delivery settings are optional: the defaults suit a deployment that sets none."""
    return getattr(settings, name, default)


def timeout_seconds() -> float:
    # Must stay well below the stuck-"sending" timeout, or a slow send could be re-driven twice.
    return float(setting("FIXPOINT_DELIVERY_TIMEOUT_SECONDS", 30))


def send(delivery: Delivery) -> str:
    destination = delivery.destination
    if destination is None:
        raise PermanentFailure("The authority no longer handles this category: choose a new one.")
    senders = {
        DeliveryMethod.EMAIL: send_email,
        DeliveryMethod.OPEN311: send_open311,
        DeliveryMethod.WEBHOOK: send_webhook,
    }
    sender = senders.get(delivery.method)  # type: ignore[call-overload]
    if sender is None:
        raise PermanentFailure(f"Unknown delivery method {delivery.method!r}.")
    return sender(delivery, destination)


# --- What staff need to know ------------------------------------------------------------------


def absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else f"{settings.FIXPOINT_BASE_URL}{url}"


def report_facts(report: Report) -> dict[str, Any]:
    """Everything the receiving authority needs, in one place for every method."""
    lat, lon = report.latitude, report.longitude
    return {
        "ref": report.ref,
        "title": report.title,
        "description": report.description,
        "category": report.category.name,
        "category_slug": report.category.slug,
        "authority": report.authority.name,
        "latitude": lat,
        "longitude": lon,
        "address": report.address,
        "url": absolute(report.get_absolute_url()),
        "map_url": f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=19/{lat}/{lon}",
        "answers": _answers(report),
        "photos": [
            absolute(photo.image.url)
            for photo in report.photos.filter(update__isnull=True, is_hidden=False)
        ],
        "reporter": _reporter_contact(report),
        "created_at": report.created_at.isoformat(),
        "confirmed_at": report.confirmed_at.isoformat() if report.confirmed_at else None,
    }


def _answers(report: Report) -> list[dict[str, Any]]:
    questions = {q.code: q for q in report.category.questions.all()}
    answers = []
    for code, value in (report.extra or {}).items():
        question = questions.get(code)
        names = {
            str(v.get("key")): str(v.get("name")) for v in (question.values if question else [])
        }
        values = value if isinstance(value, list) else [value]
        answers.append(
            {
                "code": code,
                "question": question.label if question else code,
                "answer": ", ".join(names.get(str(v), str(v)) for v in values),
                "value": value,
            }
        )
    return answers


def _reporter_contact(report: Report) -> dict[str, str] | None:
    if not setting("FIXPOINT_DELIVERY_REPORTER_CONTACT", True):
        return None
    if report.reporter is not None:
        name = report.reporter.display_name or report.reporter.get_full_name()
        return {"name": name, "email": report.reporter.email}
    contact = {"name": report.reporter_name, "email": report.reporter_email}
    if report.reporter_phone:  # a caller staff took the report for
        contact["phone"] = report.reporter_phone
    return contact


# --- E-mail -------------------------------------------------------------------------------------


def send_email(delivery: Delivery, destination: AuthorityCategory) -> str:
    if not destination.email:
        raise PermanentFailure("This category has no delivery e-mail address at this authority.")
    email = destination.email
    message = built("e-mail", lambda: checked(compose_email(delivery, email)))
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise smtp_failure(exc) from exc
    return str(message.extra_headers["Message-ID"])


def checked(message: EmailMessage) -> Any:
    """`message` once Django has written it (its headers are checked then, not when made)."""
    message.message()
    return message


def compose_email(delivery: Delivery, to: str) -> EmailMultiAlternatives:
    report = delivery.report
    facts = report_facts(report)
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "fixpoint.localhost"
    context = {"r": facts, "site_name": settings.FIXPOINT_SITE_NAME}
    message = EmailMultiAlternatives(
        subject=header_safe(f"[{report.ref}] {report.category.name}: {report.title}"),
        body=render_to_string("emails/delivery.txt", context),
        to=[to],
        reply_to=[reply_to_address(report)],
        headers={
            # The same id on every attempt: a resend after a crash is recognisably the same one.
            "Message-ID": f"<fixpoint-delivery-{delivery.pk}@{domain}>",
            "X-Fixpoint-Report": report.ref,
            "X-Fixpoint-Delivery": str(delivery.pk),
        },
        connection=get_connection(fail_silently=False, timeout=timeout_seconds()),
    )
    message.attach_alternative(render_to_string("emails/delivery.html", context), "text/html")
    return message


def reply_to_address(report: Report) -> str:
    """A per-report address (plus addressing), so a reply can be traced to its report."""
    pattern = str(setting("FIXPOINT_DELIVERY_REPLY_TO", ""))
    if not pattern:
        local, _, domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].partition("@")
        pattern = f"{local}+{{ref}}@{domain}"
    return pattern.replace("{ref}", report.ref.lower())


def _smtp_reason(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{to}: {code} {_text(msg)}" for to, (code, msg) in recipients.items())


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# --- HTTP: Open311 and webhooks ---------------------------------------------------------------


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
    """GET (status polling, reports.status_sync), with the same failures as post()."""
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


def send_webhook(delivery: Delivery, destination: AuthorityCategory) -> str:
    if not destination.endpoint_url or not destination.webhook_secret:
        raise PermanentFailure("This webhook destination needs an endpoint URL and a secret.")
    body = built("webhook body", lambda: webhook_body(delivery))
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Fixpoint",
        "Idempotency-Key": delivery.idempotency_key,
        "X-Fixpoint-Event": "report.open",
        "X-Fixpoint-Timestamp": timestamp,
        "X-Fixpoint-Signature": "sha256="
        + webhook_signature(revealed(destination.webhook_secret), timestamp, body),
    }
    answer = post(destination.endpoint_url, body, headers)
    try:
        remote_id = json.loads(answer or b"{}").get("id", "")
    except (ValueError, AttributeError):
        remote_id = ""
    return str(remote_id or "")[:200]


def webhook_body(delivery: Delivery) -> bytes:
    payload = {
        "delivery_id": delivery.pk,
        "event": "report.open",
        "report": report_facts(delivery.report),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def revealed(secret: Secret) -> str:
    """A destination's secret, to send it. One no configured key decrypts is an operator's
    mistake that a fixed FIELD_ENCRYPTION_KEYS mends: retried, with the reason shown."""
    try:
        return secret.reveal()
    except SecretUnreadable as exc:
        raise TemporaryFailure(str(exc)) from exc


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>": signing the timestamp too is what stops a replay
    from passing with a fresh timestamp header. Receivers should refuse old timestamps."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def send_open311(delivery: Delivery, destination: AuthorityCategory) -> str:
    if not destination.endpoint_url:
        raise PermanentFailure("This Open311 destination has no endpoint URL.")
    if delivery.attempts > 1:
        # An earlier attempt may have reached the council though we never saw its answer (a
        # timeout, a dropped connection, a worker that died). GeoReport v2 has no idempotency
        # key, so we look for our request on the council's side before filing it again.
        filed = open311_find_filed(delivery, destination)
        if filed is not None:
            return filed
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Fixpoint",
        # For receivers that honour it (a second Fixpoint does); GeoReport v2 has none.
        "Idempotency-Key": delivery.idempotency_key,
    }
    body = built(
        "Open311 request", lambda: urlencode(open311_params(delivery, destination)).encode()
    )
    return _open311_request_id(post(open311_requests_url(destination), body, headers))


def open311_requests_url(destination: AuthorityCategory) -> str:
    url = destination.endpoint_url
    return url if url.endswith(".json") else url.rstrip("/") + "/requests.json"


# How far before the delivery was written the council's list is searched: its clock may differ.
LOOKUP_SLACK = timedelta(hours=1)


def open311_find_filed(delivery: Delivery, destination: AuthorityCategory) -> str | None:
    """The id of the service request an earlier attempt filed, found by the reference line every
    description carries, or None when the council has none. A council that cannot be asked
    (no GET requests) fails the delivery for a person, rather than risk a second request."""
    report = delivery.report
    query = [
        ("service_code", destination.service_code or report.category.slug),
        ("start_date", (delivery.created_at - LOOKUP_SLACK).isoformat(timespec="seconds")),
        *_open311_credentials(destination),
    ]
    try:
        answer = get(f"{open311_requests_url(destination)}?{urlencode(query)}")
    except PermanentFailure as exc:
        raise PermanentFailure(
            "An earlier attempt may have reached the council and its Open311 server cannot be "
            f"searched ({exc.reason}): check whether it has {report.ref}, then resend it or "
            "mark it as sent."
        ) from exc
    marker = reference_line(report)
    for item in _json_items(answer):
        if marker in str(item.get("description") or ""):
            return _request_id_of(item)
    return None


def _json_items(answer: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(answer)
    except ValueError as exc:
        raise TemporaryFailure("The council's Open311 server answered something not JSON.") from exc
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def reference_line(report: Report) -> str:
    """Ends every description we send: it names the report for people, and lets a retry find a
    request an interrupted attempt filed."""
    return f"{report.ref}: {absolute(report.get_absolute_url())}"


def _open311_credentials(destination: AuthorityCategory) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in (
            ("api_key", revealed(destination.api_key)),
            ("jurisdiction_id", destination.jurisdiction_id),
        )
        if value
    ]


def open311_params(delivery: Delivery, destination: AuthorityCategory) -> list[tuple[str, str]]:
    report = delivery.report
    facts = report_facts(report)
    marker = reference_line(report)
    # GeoReport v2 allows 4,000 characters; the reference line must survive the cut.
    text = f"{report.title}\n\n{report.description}"[: 4000 - len(marker) - 2]
    params = [
        ("service_code", destination.service_code or report.category.slug),
        ("lat", repr(report.latitude)),
        ("long", repr(report.longitude)),
        ("description", f"{text}\n\n{marker}"),
        *_open311_credentials(destination),
    ]
    for code, value in (report.extra or {}).items():
        if isinstance(value, list):
            params.extend((f"attribute[{code}][]", str(v)) for v in value)
        else:
            params.append((f"attribute[{code}]", str(value)))
    if facts["photos"]:
        params.append(("media_url", facts["photos"][0]))
    if facts["reporter"]:
        first, _, last = facts["reporter"]["name"].partition(" ")
        params += [("email", facts["reporter"]["email"]), ("first_name", first)]
        params += [("last_name", last)] if last else []
    return params


def _open311_request_id(answer: bytes) -> str:
    """GeoReport v2 answers [{"service_request_id": ...}] or, when the id comes later,
    [{"token": ...}]; a token is kept as "token:<token>" until it is resolved."""
    try:
        data = json.loads(answer)
        item = data[0] if isinstance(data, list) else data
        return _request_id_of(item)
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        return ""


def _request_id_of(item: dict[str, Any]) -> str:
    if item.get("service_request_id"):
        return str(item["service_request_id"])[:200]
    if item.get("token"):
        return f"token:{item['token']}"[:200]
    return ""
