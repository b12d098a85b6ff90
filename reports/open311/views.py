"""Open311 GeoReport v2 views: plain functions that parse parameters, read or call a service, and
answer in the format of the URL's extension. Every error leaves in the spec's error format."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import SAFE_METHODS

from accounts.idempotency import META, client_scope, respond_once
from accounts.models import ApiClient, User
from accounts.services import KeyRefused, api_client_authorize
from authorities import routing
from authorities.exceptions import NoAuthorityHere, UnknownCategory
from authorities.models import Category, RoutingVersion, option_name
from authorities.permissions import is_staff_of
from config import params
from config.errors import ApplicationError
from config.jsonapi import NOTHING_HERE, absolute_url, method_not_allowed
from config.replica import replica_reads
from reports import ratelimit
from reports.filers import filer_for
from reports.models import Report, ReportState, ReportUpdate
from reports.services import report_create

from . import selectors
from .render import Open311Error, error_response, respond
from .services import authority_update_apply, filer_update_add
from .states import DETAILED_STATUS, INCOMING_STATUS, open311_status

JURISDICTION = "fixpoint"
MAX_RESULTS = 1000
TEXT_MAX_LENGTH = 5000  # a citizen's update, as on the site
MAX_PAGE = 1_000_000  # page x page_size stays far inside a bigint OFFSET
DEFAULT_SPAN = timedelta(days=90)
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
ATTRIBUTE = re.compile(r"attribute\[([^\]]+)\](\[\])?")

View = Callable[..., HttpResponse]


def open311(*methods: str) -> Callable[[View], View]:
    """Method check, jurisdiction check and the spec's error format around a view. An
    ApplicationError keeps its status (config.jsonapi: the same as on the REST API)."""

    def decorate(view: View) -> View:
        @csrf_exempt  # key-authenticated API for programs: there is no session to forge
        @wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in SAFE_METHODS:
                    _writer(request)  # every write needs a write key: before anything else
                if request.method not in methods:
                    return method_not_allowed(request, methods)
                _check_jurisdiction(request)
                if any("\x00" in str(value) for value in kwargs.values()):
                    raise Open311Error(404, NOTHING_HERE)
                return view(request, fmt, **kwargs)
            except ApplicationError as exc:
                return error_response(Open311Error(exc.status, exc.message), fmt)
            except Open311Error as error:
                return error_response(error, fmt)

        return wrapper

    return decorate


# --- endpoints -------------------------------------------------------------------------------


@replica_reads
@open311("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    stamp = RoutingVersion.objects.filter(pk=1).values_list("changed_at", flat=True).first()
    changeset = _iso(stamp or timezone.now())
    body = {
        "changeset": changeset,
        "contact": f"{settings.FIXPOINT_SITE_NAME}: {settings.DEFAULT_FROM_EMAIL}",
        "key_service": _("Ask the site's administrators for an API key (read or write)."),
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": absolute_url(request, "/open311/v2"),
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(body, fmt, root="discovery")


@replica_reads
@open311("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    point = _point(request)
    category_ids = None
    if point is not None:
        try:
            category_ids = [offer.category.id for offer in routing.locate(*point).offers]
        except NoAuthorityHere:  # a filter: nothing is offered there
            category_ids = []
    rows = [_service(category) for category in selectors.services(category_ids)]
    return respond(rows, fmt, root="services", item="service")


@replica_reads
@open311("GET")
def service_definition(request: HttpRequest, fmt: str, service_code: str) -> HttpResponse:
    category = (
        Category.objects.filter(is_active=True, slug=service_code)
        .prefetch_related("questions")
        .first()
    )
    if category is None:
        raise Open311Error(404, _("There is no service %(code)s.") % {"code": repr(service_code)})
    attributes = [
        {
            "variable": True,
            "code": question.code,
            "datatype": question.datatype,
            "required": question.required,
            "datatype_description": question.help_text or None,
            "order": order,
            "description": question.label,
            "values": [
                {"key": str(v.get("key")), "name": option_name(v)}
                for v in question.values
                if isinstance(v, dict)
            ],
        }
        for order, question in enumerate(category.questions.all(), 1)
    ]
    body = {"service_code": category.slug, "attributes": attributes}
    return respond(body, fmt, root="service_definition")


@replica_reads
@open311("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _request_create(request, fmt)
    ids = _list(request, "service_request_id")
    if ids:  # the spec: with ids, every other filter is ignored
        return _requests_response(request, fmt, selectors.service_requests(ids[:MAX_RESULTS]))
    page, page_size = _paging(request)
    rows = selectors.service_request_list(
        service_codes=_list(request, "service_code"),
        statuses=_statuses(request),
        created=_created_range(request),
        updated=(_datetime(request, "updated_after"), _datetime(request, "updated_before")),
        bbox=_bbox(request),
        start=(page - 1) * page_size,
        size=page_size,
    )
    return _requests_response(request, fmt, rows)


@replica_reads
@open311("GET")
def request_detail(request: HttpRequest, fmt: str, service_request_id: str) -> HttpResponse:
    report = selectors.service_request(service_request_id)
    if report is None:
        raise Open311Error(404, _no_request(service_request_id))
    return _requests_response(request, fmt, [report])


@replica_reads
@open311("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    # Requests are created at once, so the token handed out is the service_request_id itself.
    if not Report.objects.public().filter(ref=token).exists():
        raise Open311Error(404, _("There is no token %(token)s.") % {"token": repr(token)})
    body = [{"service_request_id": token, "token": token}]
    return respond(body, fmt, root="service_requests", item="request")


@replica_reads
@open311("GET", "POST")
def request_updates(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _update_create(request, fmt)
    end = _datetime(request, "end_date") or timezone.now()
    start = _datetime(request, "start_date") or end - DEFAULT_SPAN
    if start > end:
        raise Open311Error(400, _("start_date is after end_date."))
    rows = [
        {
            "update_id": str(change["id"]),
            "service_request_id": change["report__ref"],
            "status": DETAILED_STATUS.get(change["to_state"], change["to_state"].upper()),
            "updated_datetime": _iso(change["created_at"]),
            "description": change["public_note"],
            "media_url": "",
        }
        for change in selectors.public_state_changes(start, end)[:MAX_RESULTS]
    ]
    return respond(rows, fmt, root="service_request_updates", item="request_update")


# --- writes ----------------------------------------------------------------------------------


def _request_create(request: HttpRequest, fmt: str) -> HttpResponse:
    client = _writer(request)
    return _once(request, client, functools.partial(_file_request, request, fmt, client))


def _once(
    request: HttpRequest, client: ApiClient, call: Callable[[], HttpResponse]
) -> HttpResponse:
    """A write at most once per Idempotency-Key: a retry with the same key gets the first
    answer (accounts.idempotency)."""
    if META not in request.META:
        return call()
    try:
        return respond_once(request, scope=client_scope(client), data=request.POST, call=call)
    except ApplicationError as exc:  # the key malformed, or reused for another request
        raise Open311Error(exc.status, exc.message) from None


def _file_request(request: HttpRequest, fmt: str, client: ApiClient) -> HttpResponse:
    category = _category_for_post(request)
    point = _point(request)
    if point is None:
        if _param(request, "address_string") or _param(request, "address_id"):
            raise Open311Error(
                400, _("lat and long are required: this server cannot locate an address_string.")
            )
        raise Open311Error(400, _("lat and long are required."))
    description = _param(request, "description") or ""
    first_line = description.splitlines()[0] if description else ""
    title = _param(request, "title") or Truncator(first_line).chars(80) or category.name
    try:
        filer = filer_for(
            user=cast(User, client.user), client=client, email=_email(request), name=_name(request)
        )
        if wait := ratelimit.report_filing_wait(
            request, reporter=filer.reporter, email=filer.email, client=client
        ):
            return _too_many_reports(fmt, wait)
        report = report_create(
            title=title,
            description=description,
            category=category,
            latitude=point[0],
            longitude=point[1],
            reporter=filer.reporter,
            reporter_name=filer.name,
            reporter_email=filer.email,
            filed_by=filer.filed_by,
            extra=_attributes(request),
        )
    except ValidationError as exc:
        raise Open311Error(400, _describe(exc)) from None
    notice = _("Sent to %(authority)s.") % {"authority": report.authority.name}
    if report.state == ReportState.UNCONFIRMED:
        notice = _("Sent to %(authority)s once %(email)s confirms it.") % {
            "authority": report.authority.name,
            "email": report.reporter_email,
        }
    body = [{"service_request_id": report.ref, "service_notice": notice}]
    return respond(body, fmt, root="service_requests", item="request")


def _update_create(request: HttpRequest, fmt: str) -> HttpResponse:
    client = _writer(request)
    return _once(request, client, functools.partial(_post_update, request, fmt, client))


def _post_update(request: HttpRequest, fmt: str, client: ApiClient) -> HttpResponse:
    """The authority's own system moving a report (a key acting for its staff), or a citizen's
    update passed on by the account that filed the report (another Fixpoint, a FixMyStreet)."""
    user = cast(User, client.user)
    ref = _required(request, "service_request_id")
    status = _required(request, "status").upper()
    if status not in INCOMING_STATUS:
        known = ", ".join(sorted(INCOMING_STATUS))
        raise Open311Error(
            400,
            _("status %(status)s is not one of %(known)s.")
            % {"status": repr(status), "known": known},
        )
    # A private report is updated too: the key acts for staff, or for its reporter, who see it.
    report = Report.objects.visible_to(user).filter(ref=ref).only("pk", "authority_id").first()
    if report is None:
        raise Open311Error(404, _no_request(ref))
    if not is_staff_of(user, report.authority_id) and selectors.filed_it(report, user.pk):
        update = _filer_update(request, report, user, status)
        body = [{"update_id": f"comment-{update.pk}"}]
    else:  # report_transition refuses a key that does not act for the authority's staff
        change = authority_update_apply(
            report_id=report.pk,
            user=user,
            to_state=INCOMING_STATUS[status],
            public_note=_param(request, "description") or "",
        )
        body = [{"update_id": str(change.pk)}]
    return respond(body, fmt, root="service_request_updates", item="request_update")


def _filer_update(request: HttpRequest, report: Report, user: User, status: str) -> ReportUpdate:
    text = _required(request, "description")
    if len(text) > TEXT_MAX_LENGTH:
        raise Open311Error(
            400,
            _("description may be at most %(count)s characters.")
            % {"count": number_format(TEXT_MAX_LENGTH, force_grouping=True)},
        )
    anonymous = (_param(request, "public_anonymity_required") or "TRUE").upper() != "FALSE"
    try:
        return filer_update_add(
            report_id=report.pk,
            user=user,
            status=status,
            text=text,
            name=_name(request),
            show_name=not anonymous,
        )
    except ValidationError as exc:
        raise Open311Error(400, _describe(exc)) from None


def _writer(request: HttpRequest) -> ApiClient:
    """The write API key of a request (it acts for an account), by the rule the REST API uses
    too; every refusal is the spec's 403."""
    key = _param(request, "api_key")
    if key is None:
        raise Open311Error(403, _("api_key is missing: writing needs an API key with write scope."))
    try:
        return api_client_authorize(key, write=True)
    except KeyRefused as exc:
        raise Open311Error(403, exc.message) from None


def _too_many_reports(fmt: str, wait: int) -> HttpResponse:
    response = error_response(Open311Error(429, ratelimit.TOO_MANY_REPORTS), fmt)
    response["Retry-After"] = str(wait)
    return response


def _category_for_post(request: HttpRequest) -> Category:
    code = _required(request, "service_code")
    try:
        return routing.category(code, "service_code")
    except UnknownCategory as exc:  # the same status, in the words of Open311
        message = f"service_code {code!r} is not a service of this server."
        raise Open311Error(exc.status, message) from None


def _attributes(request: HttpRequest) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for key in request.POST:
        match = ATTRIBUTE.fullmatch(key)
        if match is None:
            continue
        values = [v for v in request.POST.getlist(key) if v.strip()]
        if not values:
            continue
        answers[match[1]] = values if match[2] or len(values) > 1 else values[0]
    return answers


def _name(request: HttpRequest) -> str:
    parts = (_param(request, "first_name"), _param(request, "last_name"))
    return " ".join(p for p in parts if p)[:100]


def _email(request: HttpRequest) -> str:
    email = _param(request, "email")
    if email is None:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise Open311Error(
            400, _("email %(email)s is not a valid e-mail address.") % {"email": repr(email)}
        ) from None
    return email.lower()


def _describe(exc: ValidationError) -> str:
    names = {
        "extra": "attribute",
        "reporter_name": "first_name",
        "reporter_email": "email",
        "text": "description",
    }
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    return " ".join(
        f"{names.get(field, field)}: {message}"
        for field, messages in exc.message_dict.items()
        for message in messages
    )


# --- output ----------------------------------------------------------------------------------


def _requests_response(
    request: HttpRequest, fmt: str, reports: list[dict[str, Any]]
) -> HttpResponse:
    write = ServiceRequestWriter(absolute_url(request, settings.MEDIA_URL))
    return respond(
        [write(report) for report in reports], fmt, root="service_requests", item="request"
    )


class ServiceRequestWriter:
    """Rows of selectors.service_request_rows as the spec's service requests. The time zone is
    looked up once per answer, and a state's name once per language in the process: per row
    they were a third of the time of a page of 100, and translating every state's name for each
    answer a tenth of the time of an answer with one request."""

    def __init__(self, media: str) -> None:
        self.media = media
        self.zone = timezone.get_current_timezone()
        self.labels = _state_labels(translation.get_language() or "")

    def __call__(self, report: dict[str, Any]) -> dict[str, Any]:
        state = report["state"]
        return {
            "service_request_id": report["ref"],
            "status": open311_status(state),
            "status_notes": report["latest_note"] or self.labels.get(state, state),
            "detailed_status": DETAILED_STATUS.get(state, state.upper()),
            "service_name": report["category__name"],
            "service_code": report["category__slug"],
            "title": report["title"],
            "description": report["description"],
            "agency_responsible": report["authority__name"],
            "service_notice": None,
            "requested_datetime": _iso(report["created_at"], self.zone),
            "updated_datetime": _iso(report["updated_at"], self.zone),
            "expected_datetime": None,
            # The nearest address when the gazetteer knew one, else the neighbourhood.
            "address": report["address"] or report["area__name"],
            "address_id": None,
            "zipcode": None,
            "lat": report["latitude"],
            "long": report["longitude"],
            "media_url": _media_url(report["first_photo"], self.media),
        }


@functools.cache
def _state_labels(language: str) -> dict[str, str]:
    """The states' names in ``language`` (the catalogues do not change while a process runs)."""
    with translation.override(language or None):
        return {state: str(label) for state, label in ReportState.choices}


def _media_url(name: str | None, media: str) -> str | None:
    if not name:
        return None
    url = default_storage.url(name)
    return url if "://" in url else media.rstrip("/") + "/" + url.removeprefix(settings.MEDIA_URL)


def _service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.slug,
        "service_name": category.name,
        "description": category.description,
        "metadata": bool(getattr(category, "has_questions", False)),
        "type": "realtime",
        "keywords": None,
        "group": category.group,
    }


def _iso(moment: datetime, zone: tzinfo | None = None) -> str:
    return moment.astimezone(zone or timezone.get_current_timezone()).isoformat(timespec="seconds")


# --- parameters ------------------------------------------------------------------------------


def _param(request: HttpRequest, name: str) -> str | None:
    """A parameter from the POST body or the query string; empty means absent."""
    value = request.POST.get(name) if request.method == "POST" else None
    if value is None or not value.strip():
        value = request.GET.get(name)
    value = value.strip() if value is not None else None
    if value and "\x00" in value:  # PostgreSQL text cannot hold NUL: a 400, not a 500
        raise Open311Error(400, _("%(name)s contains a NUL character.") % {"name": name})
    return value or None


def _required(request: HttpRequest, name: str) -> str:
    value = _param(request, name)
    if value is None:
        raise Open311Error(400, _("%(name)s is required.") % {"name": name})
    return value


def _list(request: HttpRequest, name: str) -> list[str]:
    value = _param(request, name)
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _check_jurisdiction(request: HttpRequest) -> None:
    jurisdiction = _param(request, "jurisdiction_id")
    if jurisdiction is None:
        return
    known = {JURISDICTION, request.get_host().rsplit(":", 1)[0].lower()}
    if jurisdiction.lower() not in known:
        raise Open311Error(
            404,
            _("jurisdiction_id %(given)s is unknown; this server has one: %(ours)s.")
            % {"given": repr(jurisdiction), "ours": JURISDICTION},
        )


def _point(request: HttpRequest) -> tuple[float, float] | None:
    lat, lon = _param(request, "lat"), _param(request, "long")
    return params.optional_point(lat, lon, names=("lat", "long"))


def _datetime(request: HttpRequest, name: str) -> datetime | None:
    value = _param(request, name)
    return None if value is None else params.moment(value, name)


def _created_range(request: HttpRequest) -> tuple[datetime | None, datetime | None]:
    """start_date/end_date: at most 90 days apart; only one of them spans 90 days from it; with
    no date at all (and no updated_* filter) the last 90 days, as the spec says."""
    start, end = _datetime(request, "start_date"), _datetime(request, "end_date")
    if start and end:
        if start > end:
            raise Open311Error(400, _("start_date is after end_date."))
        if end - start > DEFAULT_SPAN:
            raise Open311Error(400, _("start_date and end_date may not span more than 90 days."))
        return start, end
    if start:
        return start, start + DEFAULT_SPAN
    if end:
        return end - DEFAULT_SPAN, end
    if _param(request, "updated_after") or _param(request, "updated_before"):
        return None, None
    return timezone.now() - DEFAULT_SPAN, None


def _statuses(request: HttpRequest) -> list[str]:
    statuses = [s.lower() for s in _list(request, "status")]
    for status in statuses:
        if status not in ("open", "closed"):
            raise Open311Error(
                400, _("status must be open or closed, not %(status)s.") % {"status": repr(status)}
            )
    return statuses


def _paging(request: HttpRequest) -> tuple[int, int]:
    page = _positive(request, "page") or 1
    page_size = _positive(request, "page_size") or MAX_RESULTS
    if page_size > MAX_RESULTS:
        raise Open311Error(400, _("page_size may be at most %(count)s.") % {"count": MAX_RESULTS})
    return page, page_size


def _positive(request: HttpRequest, name: str) -> int | None:
    value = _param(request, name)
    return None if value is None else params.whole_number(value, name, minimum=1, maximum=MAX_PAGE)


def _bbox(request: HttpRequest) -> tuple[float, float, float, float] | None:
    value = _param(request, "bbox")
    return None if value is None else params.bbox(value)


def _no_request(ref: str) -> str:
    return _("There is no service request %(ref)s.") % {"ref": repr(ref)}
