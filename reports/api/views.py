"""The native REST API (/api/v1/). Views validate input and call services or selectors."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any, cast

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import TokenCredentials, VisitorRates
from accounts.idempotency import idempotent_action
from accounts.models import ApiClient, User
from authorities import routing
from authorities.exceptions import UnknownCategory
from authorities.models import Authority, Category
from authorities.permissions import staff_may
from config import params
from config.api import error
from config.jsonapi import absolute_url, error_body
from config.parsers import JSONParser
from config.renderers import JSONRenderer
from config.replica import replica_reads
from reports import delivery, ratelimit, services
from reports.exceptions import NotAllowed
from reports.filers import filer_for
from reports.models import EnteredFor, Report, ReportState, ReportStateChange, ReportUpdate
from reports.performance import authority_performance
from reports.selectors import find_duplicate_original
from reports.staff import services as staff_services
from reports.staff.services import Caller

from . import examples
from . import serializers as s
from .box_page import first_page_of_box
from .filters import ReportFilter
from .output import ReportWriter, list_rows
from .renderers import GeoJSONRenderer

SLUG = "[-a-zA-Z0-9_]+"
PAGE_EXAMPLE = "https://fixpoint.example/api/v1/reports/"
NOT_ROUTABLE = "No authority covers the point, or none there handles the category"
COORDINATE = [
    OpenApiParameter(
        "lat", OpenApiTypes.DOUBLE, required=True, description="WGS84 latitude, -90 to 90"
    ),
    OpenApiParameter(
        "lon", OpenApiTypes.DOUBLE, required=True, description="WGS84 longitude, -180 to 180"
    ),
]
FORMAT = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "geojson"],
    description="Answer as JSON (default) or GeoJSON; like `Accept: application/geo+json`",
)
REPORT_ID = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The report's `id`"
)
REPORT_PATH = [REPORT_ID, FORMAT]
STATE = OpenApiParameter(
    "state",
    OpenApiTypes.STR,
    many=True,
    explode=False,
    enum=[state for state in ReportState.values if state not in ("unconfirmed", "spam")],
    description="Only reports in these states (comma-separated)",
)
ORDERING = OpenApiParameter(
    "ordering",
    OpenApiTypes.STR,
    enum=["created_at", "-created_at", "updated_at", "-updated_at"],
    description="Sort by a time, `-` for newest first; default `-created_at`",
)
LIST_MORE = [  # said for this list: DRF and django-filter give generic words, radius no type
    OpenApiParameter(
        "cursor", OpenApiTypes.STR, description="Where a page starts: from `next` or `previous`"
    ),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="Reports per page, 1-200 (50)"),
    OpenApiParameter(
        "radius", OpenApiTypes.DOUBLE, description="Metres around `near`, up to 50,000 (500)"
    ),
]


class ReportPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        page: list[Any] | None = super().paginate_queryset(queryset, request, view)
        # next/previous under FIXPOINT_PUBLIC_URL like every other link of the answer
        self.base_url = absolute_url(request, request.get_full_path())
        return page

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        # Every ordering is by a time, so a position is one. A forged cursor is a 404 like any
        # invalid cursor, not a database error (PostgreSQL refuses offsets past ±15:59).
        try:
            moment = parse_datetime(str(cursor.position))
            if moment is None or timezone.is_naive(moment):
                raise ValueError(cursor.position)
            position = moment.astimezone(UTC).isoformat()
        except (ValueError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None
        return cursor._replace(position=position)  # type: ignore[arg-type]  # stubs say int

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # DRF's examples of next/previous point at an "/accounts/" list.
        answer: dict[str, Any] = super().get_paginated_response_schema(schema)
        answer["properties"]["next"]["example"] = f"{PAGE_EXAMPLE}?cursor=cD0yMDI2LTA1LTA0"
        answer["properties"]["previous"]["example"] = f"{PAGE_EXAMPLE}?cursor=cj0xJnA9MjAyNi0w"
        return answer


def _as_json_or_geojson(code: int, json: Any, geojson: Any) -> dict[Any, Any]:
    return {(code, JSONRenderer.media_type): json, (code, GeoJSONRenderer.media_type): geojson}


def _staff_change(
    request: Any, example: Any, refusals: dict[int, Any] | None = None
) -> Callable[[Any], Any]:
    """The schema of a staff action on one report, answered with the report changed."""
    responses = _as_json_or_geojson(200, s.ReportDetailSerializer, s.ReportDetailFeatureSerializer)
    return extend_schema(
        tags=["Staff"],
        parameters=REPORT_PATH,
        request=request,
        responses={**responses, **(refusals or {})},
        examples=example,
    )


@extend_schema_view(
    list=extend_schema(
        parameters=[STATE, ORDERING, FORMAT, *LIST_MORE],
        responses=_as_json_or_geojson(200, s.ReportSerializer, s.ReportFeatureCollectionSerializer),
        examples=examples.REPORT_LIST,
    ),
    retrieve=extend_schema(
        parameters=REPORT_PATH,
        responses=_as_json_or_geojson(
            200, s.ReportDetailSerializer, s.ReportDetailFeatureSerializer
        ),
        examples=examples.REPORT_DETAIL,
    ),
)
class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Public reports (never unconfirmed or spam). Filing, updates, support and staff state
    changes are POST actions; every write goes through the same services as the website."""

    filter_backends = (DjangoFilterBackend, OrderingFilter)
    filterset_class = ReportFilter
    ordering_fields = ("created_at", "updated_at")
    pagination_class = ReportPagination
    renderer_classes = (JSONRenderer, GeoJSONRenderer, BrowsableAPIRenderer)
    api_tag = "Reports"

    def get_queryset(self) -> QuerySet[Report]:
        # The list is public; one report may also be a private one the caller filed or works on.
        if self.action == "list":
            reports = Report.objects.public().with_related()
        else:
            reports = Report.objects.visible_to(self.request.user).with_related()
        return _with_details(reports) if self.action == "retrieve" else reports

    def get_serializer_class(self) -> Any:
        return s.ReportDetailSerializer if self.action == "retrieve" else s.ReportSerializer

    @replica_reads
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The serializers document the shape; output.ReportWriter writes it from plain rows,
        # several times faster than from the serializers and model instances.
        rows = first_page_of_box(request) or list_rows(
            self.filter_queryset(Report.objects.public())
        )
        page = self.paginate_queryset(rows)  # type: ignore[arg-type]  # BoxPage: all it asks
        writer = ReportWriter(request)
        return self.get_paginated_response([writer.row(r) for r in page or ()])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(ReportWriter(request).detail(self.get_object()))

    @extend_schema(
        parameters=[FORMAT],
        request=s.ReportCreateSerializer,
        responses={
            **_as_json_or_geojson(201, s.ReportDetailSerializer, s.ReportDetailFeatureSerializer),
            422: error(NOT_ROUTABLE),
        },
        examples=examples.REPORT_CREATE,
    )
    @idempotent_action
    def create(self, request: Request) -> Response:
        """File a report, routed from its location and category exactly as on the website."""
        data = _valid(s.ReportCreateSerializer, request)
        category = routing.category(data["category"])
        if data.get("on_behalf_of") is not None or data["as_authority"]:
            report = _enter(request, data, category)
            return Response(ReportWriter(request).filed(report), status=status.HTTP_201_CREATED)
        client = request.auth if isinstance(request.auth, ApiClient) else None
        name = " ".join(n for n in (data["first_name"], data["last_name"]) if n)
        filer = filer_for(
            user=cast(User, request.user), client=client, email=data["email"], name=name
        )
        if wait := ratelimit.report_filing_wait(
            request, reporter=filer.reporter, email=filer.email, client=client
        ):
            raise Throttled(wait, ratelimit.TOO_MANY_REPORTS)
        report = services.report_create(
            title=data["title"],
            description=data["description"],
            category=category,
            latitude=data["latitude"],
            longitude=data["longitude"],
            reporter=filer.reporter,
            reporter_name=filer.name,
            reporter_email=filer.email,
            filed_by=filer.filed_by,
            show_name=data["show_name"],
            extra=data["extra"],
        )
        return Response(ReportWriter(request).filed(report), status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=REPORT_PATH,
        request=s.UpdateCreateSerializer,
        responses={201: s.UpdateSerializer},
        examples=examples.UPDATE_CREATE,
    )
    @action(detail=True, methods=["post"])
    @idempotent_action
    def updates(self, request: Request, pk: str) -> Response:
        """Add a citizen's update (from the reporter, "fixed"/"still_a_problem" move the report)."""
        report = self.get_object()
        data = _valid(s.UpdateCreateSerializer, request)
        update = services.report_update_add(
            report_id=report.pk,
            author=cast(User, request.user),
            text=data["text"],
            opinion=data["opinion"],
            show_name=data["show_name"],
        )
        return Response(s.UpdateSerializer(update).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=REPORT_PATH,
        request=None,
        responses={200: s.SupportSerializer},
        examples=examples.SUPPORT,
    )
    @action(detail=True, methods=["post"])
    @idempotent_action
    def support(self, request: Request, pk: str) -> Response:
        """Add my "me too" to an open report; counted once per person."""
        report = self.get_object()
        added = services.support_add(report_id=report.pk, user=cast(User, request.user))
        total = report.supports.count()
        return Response({"added": added, "supporters": total})

    @_staff_change(
        s.TransitionSerializer,
        examples.TRANSITION,
        {409: error("The lifecycle does not allow this move (`allowed` lists the moves)")},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        """Staff of the report's authority change its state, with a public and/or internal note.
        Anyone else gets 403 and nothing changes; a move the lifecycle does not allow gets 409."""
        report = self.get_object()
        data = _valid(s.TransitionSerializer, request)
        original = None
        if data["state"] == ReportState.DUPLICATE and data["duplicate_of"]:
            original = find_duplicate_original(request.user, data["duplicate_of"])
        services.report_transition(
            report_id=report.pk,
            to_state=data["state"],
            actor=cast(User, request.user),
            public_note=data["public_note"],
            internal_note=data["internal_note"],
            duplicate_of_id=original.pk if original else None,
        )
        return self._detail(report.pk, status.HTTP_200_OK)

    @_staff_change(s.AssignSerializer, examples.ASSIGN)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        """Staff of the report's authority give it to a colleague there (null takes it back)."""
        report = self.get_object()
        email = _valid(s.AssignSerializer, request)["assignee"]
        if not staff_may(request.user, report.authority_id, "assign"):
            # Before the lookup: "no such account" must not answer anybody else's guesses.
            raise NotAllowed(_("Only staff of the responsible authority can do that."))
        assignee = User.objects.filter(email__iexact=email).first() if email else None
        if email and assignee is None:
            return _error("unknown_user", f"There is no account {email!r}.")
        services.report_assign(
            report_id=report.pk, assignee=assignee, actor=cast(User, request.user)
        )
        return self._detail(report.pk, status.HTTP_200_OK)

    @_staff_change(s.PrioritySerializer, examples.PRIORITY)
    @action(detail=True, methods=["post"])
    def priority(self, request: Request, pk: str) -> Response:
        """Staff of the report's authority set its priority."""
        report = self.get_object()
        data = _valid(s.PrioritySerializer, request)
        services.report_set_priority(
            report_id=report.pk, priority=data["priority"], actor=cast(User, request.user)
        )
        return self._detail(report.pk, status.HTTP_200_OK)

    @_staff_change(
        s.RerouteSerializer,
        examples.REROUTE,
        {422: error("No authority covers the new position, or none handles the category there")},
    )
    @action(detail=True, methods=["post"])
    def reroute(self, request: Request, pk: str) -> Response:
        """Staff of the report's authority re-categorise and/or move an open report; it is routed
        again and, if another authority becomes responsible, handed over and delivered to it."""
        report = self.get_object()
        data = _valid(s.RerouteSerializer, request)
        category = None
        if "category" in data:
            category = Category.objects.filter(slug=data["category"], is_active=True).first()
            if category is None:
                raise UnknownCategory(data["category"])
        delivery.report_reroute(
            report_id=report.pk,
            category=category,
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            actor=cast(User, request.user),
        )
        return self._detail(report.pk, status.HTTP_200_OK)

    @extend_schema(
        tags=["Staff"],
        parameters=REPORT_PATH,
        request=s.PrivacySerializer,
        responses={200: s.PrivacyAnswerSerializer},
        examples=examples.PRIVACY,
    )
    @action(detail=True, methods=["post"])
    def privacy(self, request: Request, pk: str) -> Response:
        """Staff of the report's authority (inspectors, administrators) make it private (shown
        only to its reporter and their authority's staff, worked as usual) or public again."""
        report = self.get_object()
        data = _valid(s.PrivacySerializer, request)
        done = staff_services.report_set_private(
            report_id=report.pk,
            actor=cast(User, request.user),
            private=data["private"],
            reason=data["reason"],
        )
        return Response({"id": done.pk, "ref": done.ref, "private": done.is_private})

    def _detail(self, pk: int, code: int) -> Response:
        # The report just written, read without the public scope: staff who moved it to spam get
        # what they did, not a 500 after a change that was committed.
        report = _with_details(Report.objects.with_related()).get(pk=pk)
        return Response(ReportWriter(self.request).detail(report), status=code)


def _enter(request: Request, data: dict[str, Any], category: Category) -> Report:
    """A report staff take for someone else (reports.staff.services.report_enter checks the
    permission at the authority it is routed to: anybody else gets 403). Not rate limited:
    a contact centre files for many people, and each filing is audited."""
    behalf = data.get("on_behalf_of")
    if behalf is None:
        entered_for, caller = EnteredFor.AUTHORITY, None
    elif behalf["anonymous"]:
        entered_for, caller = EnteredFor.ANONYMOUS, None
    else:
        entered_for = EnteredFor.CALLER
        caller = Caller(name=behalf["name"], email=behalf["email"], phone=behalf["phone"])
    if not request.user.is_authenticated:
        raise NotAllowed(_("Only staff with the permission can file for someone else."))
    return staff_services.report_enter(
        actor=cast(User, request.user),
        entered_for=entered_for,
        caller=caller,
        title=data["title"],
        description=data["description"],
        category=category,
        latitude=data["latitude"],
        longitude=data["longitude"],
        show_name=data["show_name"],
        extra=data["extra"],
    )


def _with_details(reports: QuerySet[Report]) -> QuerySet[Report]:
    visible = ReportUpdate.objects.filter(is_hidden=False)
    return (
        reports.select_related("duplicate_of")
        .annotate(support_count=Count("supports"))
        .prefetch_related(
            Prefetch("history", queryset=ReportStateChange.objects.order_by("created_at", "id")),
            Prefetch("updates", queryset=visible),
        )
    )


class LocateView(APIView):
    """Who covers a point (most local first) and who receives each category there."""

    permission_classes = (AllowAny,)
    api_tag = "Routing"

    @extend_schema(
        parameters=COORDINATE,
        responses={
            200: s.LocateSerializer,
            400: error("lat or lon missing, not a number, or out of range"),
            422: error("No authority covers this point"),
        },
        examples=examples.LOCATE,
    )
    def get(self, request: Request) -> Response:
        lat, lon = params.point(request.query_params.get("lat"), request.query_params.get("lon"))
        return Response(routing.locate(lat, lon).as_dict())


SLUG_PATH = OpenApiParameter(
    "slug",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=f"^{SLUG}$",  # what the route matches
    description="The slug, as in the lists",
)


@extend_schema_view(
    list=extend_schema(examples=examples.CATEGORIES),
    retrieve=extend_schema(parameters=[SLUG_PATH], examples=examples.CATEGORIES),
)
class CategoryViewSet(viewsets.ReadOnlyModelViewSet[Category]):
    """Categories (kinds of problem) with their extra questions."""

    queryset = Category.objects.filter(is_active=True).prefetch_related("questions")
    serializer_class = s.CategorySerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG  # the route matches what the schema documents
    pagination_class = None
    api_tag = "Categories and authorities"


@extend_schema_view(retrieve=extend_schema(parameters=[SLUG_PATH], examples=examples.AUTHORITIES))
class AuthorityViewSet(viewsets.ReadOnlyModelViewSet[Authority]):
    """Authorities; `?boundary=1` adds each one's GeoJSON boundary."""

    queryset = Authority.objects.filter(is_active=True).select_related("parent")
    lookup_field = "slug"
    lookup_value_regex = SLUG  # the route matches what the schema documents
    pagination_class = None
    api_tag = "Categories and authorities"

    def get_serializer_class(self) -> Any:
        wants = self.request.query_params.get("boundary") in ("1", "true", "yes")
        return s.AuthorityWithBoundarySerializer if wants else s.AuthoritySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "boundary",
                OpenApiTypes.BOOL,
                description="Add each one's boundary as GeoJSON (`1`, `true` or `yes`)",
            )
        ],
        examples=[*examples.AUTHORITIES, *examples.AUTHORITIES_WITH_BOUNDARY],
    )
    @replica_reads
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[SLUG_PATH], responses={200: s.StatsSerializer}, examples=examples.STATS
    )
    @action(detail=True, methods=["get"])
    @replica_reads
    def stats(self, request: Request, slug: str) -> Response:
        """Public statistics of one authority's reports."""
        authority = self.get_object()
        return Response(_stats(authority))

    @extend_schema(
        parameters=[SLUG_PATH],
        responses={200: s.PerformanceSerializer},
        examples=examples.PERFORMANCE,
    )
    @action(detail=True, methods=["get"])
    @replica_reads
    def performance(self, request: Request, slug: str) -> Response:
        """What the authority promised (each category's service levels) and did in the last 12
        months, beside the whole city: the figures of its public page /authorities/<slug>/ (CSV
        at /authorities/<slug>/performance.csv). Public reports only; a category with fewer than
        `minimum_reports` reports shows counts only."""
        authority = self.get_object()
        return Response(authority_performance(authority).as_dict())


class TokenView(ObtainAuthToken):
    """POST /api/v1/auth/token/: DRF's token view, documented with the API's error responses."""

    permission_classes = (AllowAny,)  # as DRF's empty tuple; lets the schema say "no auth needed"
    parser_classes = (JSONParser, FormParser, MultiPartParser)  # DRF's names its own JSONParser
    # DRF's token view turns throttling off; password guessing must be limited like the rest:
    # per IP address here, and per account as the web login (TokenCredentials).
    throttle_classes = (VisitorRates,)
    serializer_class = TokenCredentials
    api_tag = "Authentication"

    @extend_schema(examples=examples.TOKEN)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Exchange an account's e-mail (`username`) and password for its personal token, then
        send `Authorization: Token <token>`. The same token is answered until it is revoked."""
        return super().post(request, *args, **kwargs)


def _stats(authority: Authority) -> dict[str, Any]:
    reports = Report.objects.public().filter(authority=authority)
    by_state = dict(reports.order_by().values_list("state").annotate(n=Count("id")))
    since = timezone.now() - timedelta(days=30)
    fixes = (
        reports.filter(fixed_at__isnull=False, confirmed_at__isnull=False)
        .filter(fixed_at__gte=timezone.now() - timedelta(days=365))
        .values_list("confirmed_at", "fixed_at")
    )
    days = [
        (fixed - confirmed).total_seconds() / 86400
        for confirmed, fixed in fixes
        if fixed and confirmed
    ]
    return {
        "authority": authority.slug,
        "total": sum(by_state.values()),
        "by_state": {
            state: by_state.get(state, 0)
            for state in ReportState.values
            if state not in ("unconfirmed", "spam")
        },
        "fixed_last_30_days": reports.filter(fixed_at__gte=since).count(),
        "median_days_to_fix": round(statistics.median(days), 2) if days else None,
        "supporters": reports.aggregate(n=Count("supports"))["n"],
    }


def _valid(serializer_class: Any, request: Request) -> dict[str, Any]:
    """The request's data validated by ``serializer_class``, or a ValidationError with the same
    details is_valid() gives. One instance per class validates every request: a new one deep-copies
    and binds its fields first, on every filing. Validating keeps nothing on the instance, and
    none of these serializers reads a context."""
    return cast(dict[str, Any], _validator(serializer_class).run_validation(request.data))


@functools.cache
def _validator(serializer_class: Any) -> Any:
    return serializer_class()


def _error(code: str, message: str) -> Response:
    return Response(error_body(code, message), status=400)
