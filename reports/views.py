"""Pages for citizens. Each view reads through selectors and writes through services."""

from __future__ import annotations

import csv
import hashlib
import re
import secrets
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms import ChoiceField
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import idempotency
from accounts.models import User
from authorities import routing
from authorities.models import Area, Authority, Category, CategoryQuestion
from authorities.permissions import membership_role
from config.errors import ApplicationError
from config.jsonapi import absolute_url
from config.replica import replica_reads

from . import (
    notifications,
    performance,
    privacy,
    questionnaires,
    ratelimit,
    selectors,
    services,
    site_messages,
)
from .answers import clean_answers
from .exceptions import AccountBanned
from .forms import (
    AccountDeleteForm,
    AlertForm,
    EmailForm,
    PasswordForm,
    QuestionnaireForm,
    ReportEditForm,
    ReportForm,
    UpdateForm,
)
from .models import (
    Questionnaire,
    Report,
    ReportPhoto,
    ReportState,
    Subscription,
    SubscriptionKind,
)
from .photos import PixelBudget
from .staff.exports import neutralise

PHOTO_TOKEN = re.compile("[0-9a-f]{32}")
# Lazy: built once at import, read in each request's language.
STATE_FILTERS = [
    ("open", gettext_lazy("Open")),
    ("fixed", gettext_lazy("Fixed")),
    ("all", gettext_lazy("All")),
]
AGE_FILTERS = [
    ("", gettext_lazy("Any time")),
    ("7", gettext_lazy("Last week")),
    ("30", gettext_lazy("Last month")),
    ("365", gettext_lazy("Last year")),
]


def accessibility(request: HttpRequest) -> HttpResponse:
    """The accessibility statement: what meets WCAG 2.2 AA, what does not yet, whom to tell."""
    context = {"contact": settings.FIXPOINT_ACCESSIBILITY_CONTACT}
    return render(request, "reports/accessibility.html", context)


@replica_reads
def home(request: HttpRequest) -> HttpResponse:
    """The map. Without JavaScript it still lists the newest reports."""
    categories = Category.objects.filter(is_active=True).order_by("group", "order", "name")
    return render(
        request,
        "reports/home.html",
        {
            "reports": selectors.public_reports()[:20],
            "categories": categories,
            "state_filters": STATE_FILTERS,
            "age_filters": AGE_FILTERS,
        },
    )


def report_detail(request: HttpRequest, ref: str) -> HttpResponse:
    report = selectors.public_report_detail(ref.upper(), request.user)
    if report is None:
        raise Http404(_("No such public report."))
    timeline = [c for c in report.history.all() if c.to_state != ReportState.UNCONFIRMED]
    user = request.user if request.user.is_authenticated else None
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            "timeline": timeline,
            "update_form": UpdateForm(),
            "email_form": EmailForm(),
            "is_reporter": user is not None and report.reporter_id == user.pk,
            "share_url": absolute_url(request, report.get_absolute_url()),
            # Staff of the responsible authority go from the public page to their work page.
            "can_work": bool(user and user.is_staff)
            and membership_role(user, report.authority_id) is not None,
            "place_authorities": _covering(report.latitude, report.longitude),
        },
    )


def _covering(latitude: float, longitude: float) -> list[int]:
    """The ids of the authorities covering a point (for site messages about an area)."""
    try:
        return [a.id for a in routing.get_index().covering(latitude, longitude)]
    except ApplicationError:
        return []


# --- Filing a report -----------------------------------------------------------------------------


def report_new(request: HttpRequest) -> HttpResponse:
    """The filing page. Its script asks it again (GET) whenever the pin moves and takes only the
    parts that depend on the spot (categories, questions, who receives it): what the person
    wrote stays in their page."""
    data = request.POST if request.method == "POST" else request.GET
    point = _point(data)
    if point is None:
        return render(request, "reports/report_new.html", {"location": None, "point": None})
    try:
        location = routing.locate(*point)
    except ApplicationError as exc:
        return render(
            request,
            "reports/report_new.html",
            {"location": None, "point": point, "outside": exc.message},
        )
    anonymous = not request.user.is_authenticated
    questions = list(
        CategoryQuestion.objects.filter(
            category_id__in=[o.category.id for o in location.offers]
        ).select_related("category")
    )
    form = ReportForm(
        request.POST or None,
        request.FILES or None,
        location=location,
        anonymous=anonymous,
        questions=questions,
        initial={"latitude": point[0], "longitude": point[1], "category": data.get("category", "")},
    )
    context: dict[str, Any] = {
        "form": form,
        "location": location,
        "point": point,
        "place_authorities": [a.id for a in location.authorities],
    }
    if request.method == "POST":
        report = _file_report(request, form, location, context)
        if report is not None:
            return _filed(request, report)
    context["photos"] = _pending_photos(form)
    return render(request, "reports/report_new.html", context)


@require_POST
def report_draft_send(request: HttpRequest) -> HttpResponse:
    """A report written with no connection and kept on the device (static/js/offline.js), sent
    when the connection is back: the filing form's fields and photos, checked and filed exactly
    as the form is, with the `Idempotency-Key` the draft got when it was kept. A retry (the
    answer lost on a weak signal, a second tab) answers the first answer and files nothing more.
    Answers JSON: 201 with the report (unconfirmed, and its confirmation e-mail on its way, for
    someone not signed in), 400 with the reasons a person must fix, 429 when it is too soon."""
    if idempotency.META not in request.META:
        return JsonResponse(
            {
                "code": "idempotency_key_required",
                "errors": [_("A draft is sent with an Idempotency-Key header.")],
            },
            status=400,
        )
    try:
        return idempotency.respond_once(
            request,
            scope=_draft_scope(request),
            data=_draft_as_sent(request),
            call=lambda: _draft_file(request),
        )
    except ApplicationError as exc:
        return JsonResponse({"code": exc.code, "errors": [exc.message]}, status=exc.status)


def _draft_scope(request: HttpRequest) -> str:
    """Whose keys: the account's (as the API's), else the e-mail address the draft gives (as a
    digest: the table of kept answers holds no address, and any text makes a valid scope)."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    email = request.POST.get("email", "").strip().lower()
    # 128 bits of the digest: the scope column holds 40 characters.
    return "email:" + hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]


def _draft_as_sent(request: HttpRequest) -> dict[str, Any]:
    """The draft as the person wrote it: the CSRF token changes between pages, so it is left out."""
    fields = sorted(
        (name, request.POST.getlist(name)) for name in request.POST if name != "csrfmiddlewaretoken"
    )
    photos = [(f.name, f.size) for f in request.FILES.getlist("photos")]
    return {"fields": fields, "photos": photos}


def _draft_file(request: HttpRequest) -> HttpResponse:
    point = _point(request.POST)
    if point is None:
        return _draft_refused([_("The draft has no position: place the pin and send it again.")])
    try:
        location = routing.locate(*point)
    except ApplicationError as exc:
        return _draft_refused([exc.message])
    data = request.POST.copy()
    # Nobody is there to answer "is it one of these?": the draft is filed as written.
    data["confirm_new"] = "True"
    form = ReportForm(
        data,
        request.FILES,
        location=location,
        anonymous=not request.user.is_authenticated,
        questions=list(
            CategoryQuestion.objects.filter(
                category_id__in=[o.category.id for o in location.offers]
            ).select_related("category")
        ),
    )
    report = _file_report(request, form, location, {})
    if report is None:
        status = 429 if _too_often() in form.non_field_errors() else 400
        return _draft_refused(_form_messages(form), status=status)
    body = {"ref": report.ref, "title": report.title, "state": report.state}
    if report.state == ReportState.UNCONFIRMED:
        body["message"] = _(
            "“%(title)s” was sent. Follow the link we have e-mailed you to confirm it: only "
            "then does it go to the council."
        ) % {"title": report.title}
    else:
        body["url"] = report.get_absolute_url()
        body["message"] = _("“%(title)s” was sent to %(a)s.") % {
            "title": report.title,
            "a": report.authority.name,
        }
    return JsonResponse(body, status=201)


def _draft_refused(errors: list[str], *, status: int = 400) -> JsonResponse:
    return JsonResponse({"code": "refused", "errors": errors}, status=status)


def _form_messages(form: ReportForm) -> list[str]:
    said: list[str] = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        said.extend(f"{label}: {e}" if label else str(e) for e in errors)
    return said


def _point(data: Any) -> tuple[float, float] | None:
    try:
        return float(data["latitude"]), float(data["longitude"])
    except (KeyError, ValueError, TypeError):
        return None


def _file_report(
    request: HttpRequest, form: ReportForm, location: routing.Location, context: dict[str, Any]
) -> Report | None:
    """Photos are decoded last, when everything else is in order and the rate limit allows: a
    form refused for any other reason costs no decoding and stores no file."""
    offer = _valid_offer(form, location)
    if offer is None:
        _photos_not_read(request, form)
        return None
    data = form.cleaned_data
    nearby = [] if data["confirm_new"] else _nearby(data, offer.category.id)
    if nearby and not request.FILES.getlist("photos"):
        _offer_nearby(form, context, nearby)  # nothing decoded, nothing filed: not counted
        return None
    if not _within_rate(request, data.get("email", "")):
        form.add_error(None, _too_often())
        _photos_not_read(request, form)
        return None
    tokens = _keep_photos(request, form)
    if tokens is None:
        return None
    if nearby:
        _offer_nearby(form, context, nearby)
        return None
    return _create(request, form, offer.category.id, tokens)


def _valid_offer(form: ReportForm, location: routing.Location) -> routing.Offer | None:
    """The offer of the chosen category, if the form (with the category's answers) is valid."""
    if not form.is_valid():
        return None
    offer = next(
        (o for o in location.offers if o.category.slug == form.cleaned_data["category"]), None
    )
    if offer is None:
        form.add_error("category", _("Choose one of the categories offered here."))
        return None
    try:
        questions = [q for q in form.questions if q.category_id == offer.category.id]
        clean_answers(questions, form.answers(offer.category.id))
    except ValidationError as exc:
        _add_errors(form, exc)
        return None
    return offer


def _nearby(data: dict[str, Any], category_id: int) -> list[Report]:
    return list(selectors.nearby_open_reports(data["latitude"], data["longitude"], category_id))


def _offer_nearby(form: ReportForm, context: dict[str, Any], nearby: list[Report]) -> None:
    context["nearby"] = nearby
    form.data = cast(QueryDict, form.data).copy()
    form.data["confirm_new"] = "True"


def _too_often() -> str:
    return _(
        "You have sent several reports in a short time. Please wait "
        "%(m)s minutes and try again; what you wrote is kept below."
    ) % {"m": settings.FIXPOINT_REPORT_RATE_WINDOW_MINUTES}


def _create(
    request: HttpRequest, form: ReportForm, category_id: int, tokens: list[str]
) -> Report | None:
    data = form.cleaned_data
    user = request.user if request.user.is_authenticated else None
    try:
        report = services.report_create(
            title=data["title"],
            description=data["description"],
            category=Category.objects.get(pk=category_id),
            latitude=data["latitude"],
            longitude=data["longitude"],
            reporter=user,
            reporter_name=data.get("name", ""),
            reporter_email=data.get("email", ""),
            show_name=data["show_name"],
            extra=form.answers(category_id),
            photo_tokens=tokens,
        )
    except ValidationError as exc:
        _add_errors(form, exc)
        return None
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return None
    return report


def _filed(request: HttpRequest, report: Report) -> HttpResponse:
    if report.state == ReportState.UNCONFIRMED:
        return render(request, "reports/report_check_email.html", {"report": report})
    messages.success(
        request,
        _("Thank you: your report is public and on its way to %(a)s.")
        % {"a": report.authority.name},
    )
    return redirect(report)


def _keep_photos(request: HttpRequest, form: ReportForm | UpdateForm) -> list[str] | None:
    """Decode and store new uploads, so a form shown again after this keeps them. Called only
    once the rest of the form is valid and the rate limit allows: decoding is the costly part.
    The photos of one request share one pixel budget (FIXPOINT_PHOTO_MAX_REQUEST_PIXELS)."""
    tokens = _photo_tokens(form)
    files = request.FILES.getlist("photos")
    if len(tokens) + len(files) > settings.FIXPOINT_PHOTOS_PER_REPORT:
        form.add_error(
            "photos", _("Attach at most %(n)s photos.") % {"n": settings.FIXPOINT_PHOTOS_PER_REPORT}
        )
        return None
    ok = True
    budget = PixelBudget()
    for upload in files:
        try:
            photo = services.photo_upload(upload=upload, token=secrets.token_hex(16), budget=budget)
            tokens.append(photo.upload_token)
        except ApplicationError as exc:
            form.add_error("photos", f"{upload.name}: {exc.message}")
            ok = False
    form.data = cast(QueryDict, form.data).copy()
    form.data["photo_tokens"] = ",".join(tokens)
    return tokens if ok else None


def _photos_not_read(request: HttpRequest, form: ReportForm | UpdateForm) -> None:
    """New uploads of a form refused for another reason are neither decoded nor stored; say so
    (photos kept from an earlier step stay, through the form's photo_tokens)."""
    if request.FILES.getlist("photos") and "photos" not in form.errors:
        form.add_error(
            "photos",
            _("Attach your new photos again: they are read once the rest of the form is in order."),
        )


def _photo_tokens(form: ReportForm | UpdateForm) -> list[str]:
    """The upload tokens the form carries back: only what photo_upload makes (hex), so a forged
    value (a NUL, which PostgreSQL refuses even in a lookup) matches nothing."""
    given = (form.data.get("photo_tokens") or "").split(",")
    return [t for t in given if PHOTO_TOKEN.fullmatch(t)]


def _pending_photos(form: ReportForm | UpdateForm) -> list[ReportPhoto]:
    tokens = _photo_tokens(form)
    return list(ReportPhoto.objects.filter(upload_token__in=tokens, report__isnull=True))


def _within_rate(request: HttpRequest, email: str, action: str = "report") -> bool:
    reporter = cast(User, request.user) if request.user.is_authenticated else None
    return not ratelimit.report_filing_wait(request, reporter=reporter, email=email, action=action)


def _add_errors(form: Any, exc: ValidationError) -> None:
    fields = {"reporter_name": "name", "reporter_email": "email", "extra": None}
    for field, errors in exc.message_dict.items():
        target = fields.get(field, field)
        form.add_error(target if target in form.fields else None, errors)


@never_cache
def report_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the confirmation e-mail: the report becomes public."""
    try:
        report_id = notifications.report_id_from_confirm_token(token)
        report = Report.objects.get(pk=report_id)
    except signing.SignatureExpired:
        return render(request, "reports/confirm_failed.html", {"expired": True}, status=410)
    except (signing.BadSignature, Report.DoesNotExist):
        return render(request, "reports/confirm_failed.html", {"expired": False}, status=404)
    if report.state == ReportState.UNCONFIRMED:
        try:
            services.report_confirm(report_id=report.pk)
        except AccountBanned as exc:
            context = {"expired": False, "refused": exc.message}
            return render(request, "reports/confirm_failed.html", context, status=403)
        messages.success(request, _("Thank you: your report is confirmed and public."))
    has_account = (
        report.reporter_id is not None
        or User.objects.filter(email__iexact=report.reporter_email).exists()
    )
    return render(
        request,
        "reports/report_confirmed.html",
        {
            "report": report,
            "has_account": has_account,
            "password_form": PasswordForm(),
            "token": token,
        },
    )


@require_POST
def confirmed_account(request: HttpRequest, token: str) -> HttpResponse:
    """Offered on the confirmation page: keep an account with the address just proven."""
    try:
        report = Report.objects.get(pk=notifications.report_id_from_confirm_token(token))
    except (signing.BadSignature, Report.DoesNotExist):
        raise Http404(_("This link is not valid.")) from None
    form = PasswordForm(request.POST)
    if form.is_valid():
        try:
            user = services.account_create_for_reporter(
                report_id=report.pk, password=form.cleaned_data["password1"]
            )
        except ValidationError as exc:
            form.add_error("password1", exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Your account is ready."))
            return redirect("reports:mine")
    return render(
        request,
        "reports/report_confirmed.html",
        {"report": report, "has_account": False, "password_form": form, "token": token},
        status=400,
    )


# --- Acting on a report --------------------------------------------------------------------------


@require_POST
def report_update(request: HttpRequest, ref: str) -> HttpResponse:
    report = get_object_or_404(Report.objects.visible_to(request.user), ref=ref.upper())
    if not request.user.is_authenticated:
        messages.info(request, _("Log in (or sign up) to add an update."))
        return redirect(f"{reverse('account_login')}?next={report.get_absolute_url()}")
    form = UpdateForm(request.POST, request.FILES)
    tokens = _update_photos(request, form)
    if tokens is not None:
        try:
            services.report_update_add(
                report_id=report.pk,
                author=request.user,
                text=form.cleaned_data["text"],
                opinion=form.cleaned_data["opinion"] or "",
                show_name=form.cleaned_data["show_name"],
                photo_tokens=tokens,
            )
        except (ValidationError, ApplicationError) as exc:
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("Thank you for your update."))
            return redirect(report)
    detail = selectors.public_report_detail(report.ref, request.user)
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": detail,
            "update_form": form,
            "email_form": EmailForm(),
            "timeline": [c for c in detail.history.all() if c.to_state != "unconfirmed"]
            if detail
            else [],
            "is_reporter": report.reporter_id == request.user.pk,
            "photos": _pending_photos(form),
            "share_url": absolute_url(request, report.get_absolute_url()),
        },
        status=400,
    )


def _update_photos(request: HttpRequest, form: UpdateForm) -> list[str] | None:
    """The update's photo tokens once its text is valid; new photos are decoded only then, and
    only within the rate limit (counted apart from reports, and only when there are photos)."""
    if not form.is_valid():
        _photos_not_read(request, form)
        return None
    if request.FILES.getlist("photos") and not _within_rate(request, "", action="update"):
        form.add_error(
            "photos",
            _(
                "You have sent several updates with photos in a short time. Please wait "
                "%(m)s minutes, or send this update without photos."
            )
            % {"m": settings.FIXPOINT_REPORT_RATE_WINDOW_MINUTES},
        )
        return None
    return _keep_photos(request, form)


@require_POST
def report_support(request: HttpRequest, ref: str) -> HttpResponse:
    report = get_object_or_404(Report.objects.public(), ref=ref.upper())
    user = request.user if request.user.is_authenticated else None
    try:
        added = services.support_add(
            report_id=report.pk,
            user=user,
            email=request.POST.get("email", ""),
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(
            request,
            _("Thank you: your support is counted.")
            if added
            else _("You had already supported this report."),
        )
    return redirect(_local_or(request.POST.get("next", ""), report.get_absolute_url()))


# --- An authority's public performance -----------------------------------------------------------


@replica_reads
def authority_page(request: HttpRequest, slug: str) -> HttpResponse:
    """What the authority promised and did in the last 12 months, beside the whole city."""
    authority = get_object_or_404(
        Authority.objects.defer("boundary").select_related("parent__parent"),
        slug=slug,
        is_active=True,
    )
    figures = performance.authority_performance(authority)
    return render(
        request,
        "reports/authority_performance.html",
        {
            "authority": authority,
            "performance": figures,
            # Its area lies in its parents' too: their site messages are about it as well.
            "place_authorities": _with_parents(authority),
        },
    )


def authority_list(request: HttpRequest) -> HttpResponse:
    """Every active authority, each with its children, linking to its performance page."""
    authorities = list(Authority.objects.filter(is_active=True).defer("boundary").order_by("name"))
    children: dict[int | None, list[Authority]] = {}
    for authority in authorities:
        children.setdefault(authority.parent_id, []).append(authority)
    known = {a.pk for a in authorities}
    tops = [a for a in authorities if a.parent_id is None or a.parent_id not in known]
    rows: list[tuple[Authority, int]] = []

    def add(authority: Authority, depth: int) -> None:
        rows.append((authority, depth))
        for child in children.get(authority.pk, []) if depth < 5 else []:
            add(child, depth + 1)

    for top in tops:
        add(top, 0)
    return render(request, "reports/authority_list.html", {"rows": rows})


def _with_parents(authority: Authority) -> list[int]:
    ids, seen = [], set()
    found: Authority | None = authority
    while found is not None and found.pk not in seen:  # at most a few levels
        ids.append(found.pk)
        seen.add(found.pk)
        found = found.parent
    return ids


@replica_reads
def authority_performance_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The same figures as CSV, for open-data portals."""
    authority = get_object_or_404(Authority.objects.defer("boundary"), slug=slug, is_active=True)
    figures = performance.authority_performance(authority)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{authority.slug}-performance.csv"'
    writer = csv.writer(response)
    for row in performance.csv_rows(figures):
        writer.writerow([neutralise(value) for value in row])  # names are people's text
    return response


@require_POST
def site_message_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Hide a site message on this browser (a cookie of dismissed ids, kept a month)."""
    cookie = site_messages.dismissed_cookie(request.COOKIES.get(site_messages.DISMISSED_COOKIE), pk)
    if request.headers.get("X-Requested-With") == "fetch":
        response: HttpResponse = HttpResponse(status=204)
    else:
        response = redirect(_local_or(request.POST.get("next", ""), reverse("reports:home")))
    response.set_cookie(
        site_messages.DISMISSED_COOKIE,
        cookie,
        max_age=30 * 24 * 3600,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    return response


def _local_or(url: str, default: str) -> str:
    """`url` if it is a path on this site, else `default`: redirect() took any text as a view
    name (a 500) and any address elsewhere (an open redirect)."""
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return url
    return default


@require_POST
def report_subscribe(request: HttpRequest, ref: str) -> HttpResponse:
    report = get_object_or_404(Report.objects.public(), ref=ref.upper())
    user = request.user if request.user.is_authenticated else None
    email = user.email if user else request.POST.get("email", "")
    try:
        subscription = notifications.subscription_create(
            email=email,
            kind=SubscriptionKind.REPORT,
            user=user,
            report=report,
        )
    except (ValidationError, ApplicationError) as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(
            request,
            _("You will get an e-mail when this report changes.")
            if subscription.is_confirmed
            else _("Check your e-mail: follow the link we sent to start the alerts."),
        )
    return redirect(report)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(getattr(exc, "message", exc))


# --- E-mail alerts -------------------------------------------------------------------------------


def alerts(request: HttpRequest) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    form = AlertForm(
        request.POST or None,
        initial={
            "email": getattr(user, "email", ""),
            "latitude": request.GET.get("lat"),
            "longitude": request.GET.get("lon"),
            "kind": "radius" if request.GET.get("lat") else "area",
        },
    )
    cast(ChoiceField, form.fields["area"]).choices = [
        ("", "—"),
        *Area.objects.values_list("slug", "name"),
    ]
    cast(ChoiceField, form.fields["authority"]).choices = [
        ("", "—"),
        *Authority.objects.filter(is_active=True, boundary__isnull=False).values_list(
            "slug", "name"
        ),
    ]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription = notifications.subscription_create(
                email=data["email"],
                kind=data["kind"],
                user=user,
                area=Area.objects.filter(slug=data["area"]).first()
                if data["kind"] == "area"
                else None,
                authority=Authority.objects.filter(slug=data["authority"]).first()
                if data["kind"] == "authority"
                else None,
                latitude=data["latitude"] if data["kind"] == "radius" else None,
                longitude=data["longitude"] if data["kind"] == "radius" else None,
                radius_m=data["radius_m"] if data["kind"] == "radius" else None,
                frequency=data["frequency"],
            )
        except (ValidationError, ApplicationError) as exc:
            form.add_error(None, _message(exc))
        else:
            return render(request, "reports/alert_created.html", {"subscription": subscription})
    return render(request, "reports/alerts.html", {"form": form})


@never_cache
def alert_confirm(request: HttpRequest, token: str) -> HttpResponse:
    subscription = _subscription_from(token, "confirm")
    notifications.subscription_confirm(subscription_id=subscription.pk)
    return render(
        request,
        "reports/alert_status.html",
        {
            "subscription": subscription,
            "confirmed": True,
            "token": notifications.alert_token(subscription, "unsubscribe"),
        },
    )


@never_cache
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One click in the e-mail stops the alert (GET from people, POST from mail clients)."""
    subscription = _subscription_from(token, "unsubscribe")
    if request.method == "POST" and "resubscribe" in request.POST:
        subscription = notifications.subscription_resubscribe(subscription_id=subscription.pk)
        messages.success(request, _("Your alert is back on."))
    else:
        subscription = notifications.subscription_unsubscribe(subscription_id=subscription.pk)
    return render(
        request, "reports/alert_status.html", {"subscription": subscription, "token": token}
    )


def _subscription_from(token: str, action: str) -> Subscription:
    try:
        subscription_id = notifications.subscription_id_from_token(token, action)
    except signing.BadSignature:
        raise Http404(_("This link is not valid.")) from None
    return get_object_or_404(
        Subscription.objects.select_related("report", "area", "authority"), pk=subscription_id
    )


# --- "Has this been fixed?" ---------------------------------------------------------------------


@never_cache
def questionnaire(request: HttpRequest, token: str) -> HttpResponse:
    """The links in the questionnaire e-mail open this page with the answer chosen; only the
    form's POST records it, because mail scanners open every link in an e-mail."""
    try:
        questionnaire_id = questionnaires.questionnaire_id_from_token(token)
    except signing.BadSignature:
        raise Http404(_("This link is not valid.")) from None
    found = get_object_or_404(Questionnaire.objects.select_related("report"), pk=questionnaire_id)
    chosen = request.GET.get("answer", "")
    form = QuestionnaireForm(
        request.POST or None, initial={"answer": chosen if chosen in ("yes", "no") else None}
    )
    if request.method == "POST" and form.is_valid() and not found.is_answered:
        try:
            found = questionnaires.questionnaire_answer(
                questionnaire_id=found.pk,
                fixed=form.cleaned_data["answer"] == "yes",
                comment=form.cleaned_data["comment"],
            )
        except (ValidationError, ApplicationError) as exc:
            form.add_error(None, _message(exc))
        else:
            messages.success(request, _("Thank you: your answer is recorded."))
            return redirect(request.path)
    return render(
        request,
        "reports/questionnaire.html",
        {"questionnaire": found, "report": found.report, "form": form},
    )


# --- My reports ----------------------------------------------------------------------------------


@login_required
def my_reports(request: HttpRequest) -> HttpResponse:
    reports = (
        Report.objects.filter(reporter=cast(User, request.user))
        .with_related()
        .annotate(support_count=Count("supports"))
        .order_by("-created_at")
    )
    undoable = selectors.withdrawals_undoable(
        user_id=cast(User, request.user).pk, now=timezone.now()
    )
    for report in reports:  # until when its withdrawal may be undone, if it may
        report.undo_until = undoable.get(report.pk)  # type: ignore[attr-defined]
    alerts = Subscription.objects.filter(
        email=request.user.email,  # type: ignore[union-attr]
        unsubscribed_at__isnull=True,
    ).select_related("report", "area", "authority")
    return render(
        request,
        "reports/my_reports.html",
        {
            "reports": reports,
            "alerts": [(a, notifications.alert_token(a, "unsubscribe")) for a in alerts],
        },
    )


@login_required
def report_edit(request: HttpRequest, ref: str) -> HttpResponse:
    report = get_object_or_404(Report, ref=ref.upper(), reporter=request.user)
    form = ReportEditForm(
        request.POST or None,
        initial={
            "title": report.title,
            "description": report.description,
            "show_name": report.show_name,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.report_edit(
                report_id=report.pk,
                user=request.user,  # type: ignore[arg-type]
                **form.cleaned_data,
            )
        except (ValidationError, ApplicationError) as exc:
            form.add_error(None, _message(exc))
        else:
            messages.success(request, _("Your report is updated."))
            return redirect("reports:mine")
    return render(request, "reports/report_edit.html", {"form": form, "report": report})


@login_required
def report_withdraw(request: HttpRequest, ref: str) -> HttpResponse:
    """GET asks to confirm (a page: it works without JavaScript), POST withdraws."""
    report = get_object_or_404(Report, ref=ref.upper(), reporter=request.user)
    if request.method != "POST":
        return render(
            request,
            "reports/report_withdraw.html",
            {"report": report, "undo_minutes": settings.FIXPOINT_WITHDRAW_UNDO_MINUTES},
        )
    try:
        withdrawn = services.report_withdraw(report_id=report.pk, user=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _withdrawn_message(withdrawn))
    return redirect("reports:mine")


def _withdrawn_message(report: Report | None) -> str:
    minutes = settings.FIXPOINT_WITHDRAW_UNDO_MINUTES
    if report is None or not minutes:  # an unconfirmed report is deleted: nothing to undo
        return _("Your report is withdrawn.")
    return ngettext(
        "Your report is withdrawn. You can undo this below for %(n)s minute.",
        "Your report is withdrawn. You can undo this below for %(n)s minutes.",
        minutes,
    ) % {"n": minutes}


@login_required
@require_POST
def report_withdraw_undo(request: HttpRequest, ref: str) -> HttpResponse:
    report = get_object_or_404(Report, ref=ref.upper(), reporter=request.user)
    try:
        services.report_withdraw_undo(report_id=report.pk, user=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your report is back: it is open again."))
    return redirect("reports:mine")


@login_required
@require_POST
def hide_my_name(request: HttpRequest) -> HttpResponse:
    count = services.user_hide_name(user=request.user)  # type: ignore[arg-type]
    messages.success(
        request, _("Your name is now hidden on everything you posted (%(n)s items).") % {"n": count}
    )
    return redirect("reports:mine")


# --- Account care --------------------------------------------------------------------------------


@login_required
@never_cache
def my_data(request: HttpRequest) -> HttpResponse:
    """The person's data: a page, and the download as a zip (with photos) or JSON."""
    kind = request.GET.get("format", "")
    if kind not in ("zip", "json"):
        return render(request, "reports/my_data.html")
    export = privacy.account_data_export(user=cast(User, request.user))
    stamp = timezone.localdate().isoformat()
    if kind == "json":
        response = HttpResponse(export.as_json(), content_type="application/json")
    else:
        response = HttpResponse(export.as_zip(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="fixpoint-data-{stamp}.{kind}"'
    return response


@login_required
@never_cache
def my_delete(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = AccountDeleteForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        privacy.account_delete(user_id=user.pk, actor=user, ip=request.META.get("REMOTE_ADDR"))
        logout(request)
        messages.success(request, _("Your account is deleted and your personal data erased."))
        return redirect("reports:home")
    return render(request, "reports/my_delete.html", {"form": form})


def privacy_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/privacy.html",
        {
            "unconfirmed_hours": settings.FIXPOINT_UNCONFIRMED_TTL_HOURS,
            "inactive_days": settings.FIXPOINT_ACCOUNT_INACTIVE_DAYS,
            "warning_days": settings.FIXPOINT_ACCOUNT_INACTIVE_WARNING_DAYS,
            "reporter_contact": settings.FIXPOINT_DELIVERY_REPORTER_CONTACT,
        },
    )
