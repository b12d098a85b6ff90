"""The Open311 channel: the report filed as a GeoReport v2 service request on the council's
server. GeoReport v2 has no idempotency key, so a retry first searches the council's requests for
the reference line every description carries (docs/architecture.md, "Delivery")."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from authorities.models import AuthorityCategory
from reports.models import Delivery, Report, UpdateDelivery

from .facts import absolute, report_facts, update_facts
from .failures import PermanentFailure, TemporaryFailure, built, revealed
from .http import get, post


def send(delivery: Delivery, destination: AuthorityCategory) -> str:
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


# --- Citizens' updates: mySociety's servicerequestupdates POST --------------------------------


def send_update(row: UpdateDelivery, destination: AuthorityCategory, parent: Delivery) -> str:
    """A citizen's update on the council's service request, by mySociety's extension of
    GeoReport v2 (POST servicerequestupdates), for councils whose server takes it."""
    if not destination.endpoint_url:
        raise PermanentFailure("This Open311 destination has no endpoint URL.")
    if not destination.open311_updates:
        raise PermanentFailure("This council's Open311 server does not take updates.")
    if not parent.remote_id or parent.remote_id.startswith("token:"):
        raise TemporaryFailure(
            "The council has not given the report's service request id yet; the update waits."
        )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Fixpoint",
        "Idempotency-Key": row.idempotency_key,
    }
    body = built(
        "Open311 update",
        lambda: urlencode(open311_update_params(row, destination, parent)).encode(),
    )
    return _update_id(post(open311_updates_url(destination), body, headers))


def open311_updates_url(destination: AuthorityCategory) -> str:
    url = destination.endpoint_url
    if url.endswith(".json"):
        url = url.rpartition("/")[0]
    return url.rstrip("/") + "/servicerequestupdates.json"


def open311_update_params(
    row: UpdateDelivery, destination: AuthorityCategory, parent: Delivery
) -> list[tuple[str, str]]:
    """The fields mySociety's specification names (its reference server, open311-adapter,
    checks a request against that list): the council's request id, our update's id (the same
    on every attempt, so a receiver can tell a retry from a new update), when, the status the
    report is in, the text with the report's reference line, who wrote it and whether their
    name may be shown. Not service_request_id_ext: the specification's is a number, and our
    reference is not one (the reference line names the report)."""
    report, facts = row.report, update_facts(row)
    marker = reference_line(report)
    text = facts["text"][: 4000 - len(marker) - 2]
    params = [
        ("service_request_id", parent.remote_id),
        ("update_id", str(row.pk)),
        ("updated_datetime", row.created_at.isoformat(timespec="seconds")),
        ("status", "OPEN" if facts["report_open"] else "CLOSED"),
        ("description", f"{text}\n\n{marker}"),
        ("public_anonymity_required", "FALSE" if _name_shown(row) else "TRUE"),
        *_open311_credentials(destination),
    ]
    if facts["photos"]:
        params.append(("media_url", facts["photos"][0]))
    author = facts["author"]
    if author:
        first, _, last = author["name"].partition(" ")
        params += [("email", author["email"]), ("first_name", first), ("last_name", last)]
    return params


def _name_shown(row: UpdateDelivery) -> bool:
    if row.update is not None:
        return row.update.show_name
    return row.report.show_name


def _update_id(answer: bytes) -> str:
    """The extension answers [{"update_id": ...}] (or a token when the id comes later)."""
    try:
        data = json.loads(answer)
        item = data[0] if isinstance(data, list) else data
        if item.get("update_id"):
            return str(item["update_id"])[:200]
        return f"token:{item['token']}"[:200] if item.get("token") else ""
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        return ""
