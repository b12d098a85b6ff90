"""Status coming back from Open311 destinations: what the council did with the reports we sent.

For each Open311 destination with sent deliveries, a periodic job (Celery beat
`sync-open311-status`, or `manage.py sync_open311_status`) first resolves `token:<t>` remote ids
through `tokens/<t>.json`, then GETs `requests.json?updated_after=<last poll>` and, for each service
request whose id is a delivery's remote_id, moves our report to the council's state with
report_transition(actor=None): the authority's system, with `status_notes` as the public note.

Only moves the transition table allows are made (others are logged and skipped), a state the
report already has is no change, and the poll window overlaps the previous one: polling twice
changes nothing the second time. See docs/architecture.md, "Delivery".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from django.db import transaction
from django.db.models import Exists, Min, OuterRef, QuerySet
from django.utils import timezone

from authorities.models import AuthorityCategory, DeliveryMethod
from config.errors import ApplicationError
from reports.models import (
    HIDDEN_STATES,
    OPEN_STATES,
    TRANSITIONS,
    Actor,
    Delivery,
    DeliveryStatus,
    Report,
    ReportState,
    StatusPoll,
)
from reports.notes import NOTE_MAX_LENGTH
from reports.open311.states import CLOSED_STATUS_STATES, DETAILED_STATUS, INCOMING_STATUS
from reports.services import report_transition

from .failures import DeliveryFailure, PermanentFailure, TemporaryFailure
from .http import get

logger = logging.getLogger(__name__)

# Asked again on the next poll: the council's clock may differ from ours, and a change committed
# while we were asking may carry an earlier time. Seeing a change twice is harmless.
OVERLAP = timedelta(minutes=5)
# How the Open311 channel keeps an Open311 token it was given (not a secret).
TOKEN_PREFIX = "token:"  # noqa: S105


@dataclass
class PollSummary:
    destinations: int = 0
    failed: int = 0  # destinations that could not be asked
    resolved: int = 0  # tokens that became service request ids
    moved: int = 0  # reports moved to the council's state
    skipped: int = 0  # changes the transition table does not allow, or statuses we do not know


def open311_statuses_poll() -> PollSummary:
    """One pass over every Open311 destination that has sent deliveries."""
    summary = PollSummary()
    for destination in destinations_to_poll():
        summary.destinations += 1
        destination_poll(destination=destination, summary=summary)
    return summary


def destinations_to_poll() -> QuerySet[AuthorityCategory]:
    sent = _sent(OuterRef("pk")).exclude(remote_id="")
    return (
        AuthorityCategory.objects.filter(delivery_method=DeliveryMethod.OPEN311)
        .exclude(endpoint_url="")
        .filter(Exists(sent))
        .select_related("status_poll")
        .order_by("pk")
    )


def destination_poll(*, destination: AuthorityCategory, summary: PollSummary) -> None:
    started = timezone.now()
    try:
        summary.resolved += _resolve_tokens(destination)
        requests = _updated_requests(destination, since=_since(destination))
    except DeliveryFailure as exc:
        logger.warning("Open311 status poll of destination %s failed: %s", destination.pk, exc)
        summary.failed += 1
        _record_poll(destination, attempted_at=started, error=exc.reason)
        return
    ids = [str(request.get("service_request_id")) for request in requests]
    reports = _reports_by_remote_id(destination, ids)
    for request in requests:
        report_id = reports.get(str(request.get("service_request_id")))
        if report_id is not None:
            try:
                outcome = _apply(report_id, request)
            except ApplicationError as exc:  # one odd request must not hold up the others
                logger.warning("Open311 status for report %s not applied: %s", report_id, exc)
                outcome = None
            summary.moved += outcome is True
            summary.skipped += outcome is None
    # The next poll asks from when this one started: nothing committed meanwhile is missed.
    _record_poll(destination, attempted_at=started, polled_at=started)


# --- Asking the council --------------------------------------------------------------------------


def _base_url(destination: AuthorityCategory) -> str:
    """The endpoint URL without requests.json (the sender adds it, or it was given in full)."""
    url = destination.endpoint_url
    if url.endswith(".json"):
        url = url.rsplit("/", 1)[0]
    return url.rstrip("/")


def _query(destination: AuthorityCategory, **params: str) -> str:
    if destination.jurisdiction_id:
        params["jurisdiction_id"] = destination.jurisdiction_id
    return f"?{urlencode(params)}" if params else ""


def _get_json(url: str) -> Any:
    answer = get(url, {"Accept": "application/json"})
    try:
        return json.loads(answer)
    except ValueError:
        raise TemporaryFailure(f"{url} did not answer JSON.") from None


def _since(destination: AuthorityCategory) -> datetime:
    """From the last successful poll, or the first delivery sent there; minus the overlap."""
    poll: StatusPoll | None = getattr(destination, "status_poll", None)
    since = poll.polled_at if poll is not None else None
    if since is None:
        since = _sent(destination.pk).aggregate(first=Min("sent_at"))["first"] or timezone.now()
    return since - OVERLAP


def _updated_requests(destination: AuthorityCategory, *, since: datetime) -> list[dict[str, Any]]:
    # updated_after (a FixMyStreet extension Fixpoint's own server has too), not start_date: in
    # GeoReport v2 start_date filters on when the request was made, so a request made before the
    # last poll and changed since would be missed. A server that ignores updated_after answers
    # its default window (the last 90 days), which only costs a bigger answer.
    after = since.astimezone(UTC).isoformat(timespec="seconds")
    url = f"{_base_url(destination)}/requests.json{_query(destination, updated_after=after)}"
    data = _get_json(url)
    if not isinstance(data, list):
        raise TemporaryFailure(f"{url} answered {type(data).__name__}, not a list.")
    return [item for item in data if isinstance(item, dict)]


def _resolve_tokens(destination: AuthorityCategory) -> int:
    """A council that answered a token gives the request id later, at tokens/<token>.json."""
    resolved = 0
    waiting = _sent(destination.pk).filter(remote_id__startswith=TOKEN_PREFIX)
    for pk, remote_id in waiting.values_list("pk", "remote_id"):
        token = remote_id.removeprefix(TOKEN_PREFIX)
        url = f"{_base_url(destination)}/tokens/{quote(token, safe='')}.json{_query(destination)}"
        try:
            data = _get_json(url)
        except PermanentFailure as exc:  # e.g. 404: not made into a request yet
            logger.info("Open311 token %s of delivery %s is not resolved: %s", token, pk, exc)
            continue
        item = data[0] if isinstance(data, list) and data else data
        request_id = str(item.get("service_request_id") or "") if isinstance(item, dict) else ""
        if request_id:
            resolved += delivery_remote_id_set(delivery_id=pk, old=remote_id, new=request_id)
    return resolved


# --- Writing what came back ----------------------------------------------------------------------


def _sent(destination: Any) -> QuerySet[Delivery]:
    return Delivery.objects.filter(
        destination=destination, method=DeliveryMethod.OPEN311, status=DeliveryStatus.SENT
    )


def _reports_by_remote_id(destination: AuthorityCategory, remote_ids: list[str]) -> dict[str, int]:
    found = _sent(destination.pk).filter(remote_id__in=[r for r in remote_ids if r])
    # A report we have since hidden (spam) is not reopened by whatever the council says.
    found = found.exclude(report__state__in=HIDDEN_STATES)
    return dict(found.values_list("remote_id", "report_id"))


def delivery_remote_id_set(*, delivery_id: int, old: str, new: str) -> int:
    """Replace a token by the request id the council gave for it (only if still the token)."""
    return Delivery.objects.filter(pk=delivery_id, remote_id=old).update(remote_id=new[:200])


def incoming_state(request: dict[str, Any], current: str) -> str | None:
    """The Fixpoint state for a service request's status, given our report's state.

    An extended `detailed_status` we know wins; otherwise GeoReport v2's plain open/closed keeps
    any state of the same kind (an "open" request leaves a verified report verified) and moves
    one of the other kind to open or closed. DUPLICATE is not taken from outside (it needs our
    original's id), so it counts as closed. None: a status we cannot read.
    """
    detailed = str(request.get("detailed_status") or "").upper()
    if detailed in INCOMING_STATUS and detailed != "OPEN":
        return INCOMING_STATUS[detailed]
    status = str(request.get("status") or "").lower()
    if status == "open":
        return current if current in OPEN_STATES else ReportState.OPEN
    if status == "closed":
        return current if current in CLOSED_STATUS_STATES else ReportState.CLOSED
    return None


def _public_note(request: dict[str, Any], state: str) -> str:
    """status_notes, unless it only repeats the status (servers fill it with the state's name)."""
    note = str(request.get("status_notes") or "").strip()
    names = {str(ReportState(state).label), DETAILED_STATUS.get(state, ""), state}
    names |= {str(request.get("status") or ""), str(request.get("detailed_status") or "")}
    repeats = note.lower().replace("_", " ") in {n.lower().replace("_", " ") for n in names}
    if len(note) > NOTE_MAX_LENGTH:  # the council's word, shortened: refusing would lose the move
        note = note[: NOTE_MAX_LENGTH - 1].rstrip() + "…"
    return "" if repeats else note


@transaction.atomic
def _apply(report_id: int, request: dict[str, Any]) -> bool | None:
    """Move the report to the council's state. True: moved; False: nothing to do; None: the
    status is unknown or the move is not allowed (logged)."""
    report = Report.objects.select_for_update().get(pk=report_id)
    target = incoming_state(request, report.state)
    if target is None:
        logger.warning("Open311 status %r for report %s is unknown", request.get("status"), report)
        return None
    if target == report.state:
        return False
    if Actor.SYSTEM not in TRANSITIONS.get(report.state, {}).get(target, frozenset()):
        logger.warning(
            "The council moved report %s to %s, which cannot follow %s here; left as it is",
            report.ref,
            target,
            report.state,
        )
        return None
    report_transition(
        report_id=report.pk, to_state=target, actor=None, public_note=_public_note(request, target)
    )
    return True


def _record_poll(
    destination: AuthorityCategory,
    *,
    attempted_at: datetime,
    polled_at: datetime | None = None,
    error: str = "",
) -> None:
    fields: dict[str, Any] = {"attempted_at": attempted_at, "last_error": error}
    if polled_at is not None:
        fields["polled_at"] = polled_at
    StatusPoll.objects.update_or_create(destination=destination, defaults=fields)
