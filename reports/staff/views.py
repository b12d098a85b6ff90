"""The staff pages: the queue (/staff/) with bulk actions, and the work page of one report.

Every report is looked up through `reports_visible_to(user)`: a report of another authority is a
404, the same as one that does not exist, so ids cannot be probed. Writes call the services, which
check the role again and audit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from authorities import permissions
from authorities.models import CategoryQuestion, option_name
from config import params
from config.errors import ApplicationError
from reports import services
from reports.models import (
    Delivery,
    EnteredFor,
    Report,
    ReportPhoto,
    ReportState,
    ReportStateChange,
    ReportUpdate,
    UpdateDelivery,
)
from reports.selectors import find_duplicate_original, reports_visible_to

from . import forms, selectors
from . import services as staff_services
from .decorators import staff_required
from .filters import CHOSEN, WORK_STATES, StaffReportFilter, queue_defaults

PAGE_SIZE = 50
MAP_LIMIT = 2000  # pins drawn for the filtered set; the counts above the map say if there are more


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# --- The queue ---------------------------------------------------------------------------------


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    data = queue_defaults(request.GET)
    areas = selectors.staff_areas(request.user)
    found = StaffReportFilter(data, request=request, areas=areas)
    reports = selectors.annotate_overdue(
        found.qs.select_related("area", "assignee").defer("area__boundary"), found.overdue_condition
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    memberships = _memberships(request)
    roles = set(memberships.values())
    context = {
        "filter": found,
        "page": page,
        "counts": _counts(found),
        "pins": _pins(found.qs),
        "bulk_form": _bulk_form(request, [r.pk for r in page]),
        "query": _query_without(data, "page"),
        "query_any_state": _query_without(data, "page", "state", CHOSEN),
        "chosen": CHOSEN,
        "filters_in_use": _filters_in_use(data),
        "several_authorities": len(memberships) != 1,  # a superuser's is {None: admin}
        "may_bulk": _may_anywhere(roles, "bulk"),
        "may_audit": _may_anywhere(roles, "audit"),
        "may_file_for_others": _may_anywhere(roles, "file_on_behalf"),
    }
    return render(request, "staff/queue.html", context)


def _filters_in_use(data: QueryDict) -> int:
    """How many filters besides the text search and the sort narrow the queue (the default
    states, the work to do, do not count): folded away on a phone, the filters say so."""
    names = set(StaffReportFilter.base_filters) - {"q", "state", "ordering"}
    used = sum(1 for name in names if any(v.strip() for v in data.getlist(name)))
    return used + (set(data.getlist("state")) != {str(state) for state in WORK_STATES})


def _counts(found: StaffReportFilter) -> list[tuple[str, str, int]]:
    # Per state over the other filters, so the numbers say what picking a state would show.
    counts = selectors.state_counts(found.queryset_without("state"))
    labels = dict(ReportState.choices)
    return [(state, str(labels[state]), n) for state, n in counts.items()]


def _pins(reports: Any) -> list[dict[str, Any]]:
    rows = reports.values_list("pk", "ref", "title", "state", "latitude", "longitude")
    return [
        {"id": pk, "ref": ref, "title": title, "state": state, "lat": lat, "lon": lon}
        for pk, ref, title, state, lat, lon in rows[:MAP_LIMIT]
    ]


def _query_without(data: QueryDict, *names: str) -> str:
    data = data.copy()
    for key in names:
        data.pop(key, None)
    return data.urlencode()


def _memberships(request: HttpRequest) -> dict[int | None, str]:
    """The user's role at each of their authorities; a superuser's is {None: administrator}."""
    user = _user(request)
    if user.is_superuser:
        return {None: str(permissions.ADMIN)}
    return dict(user.memberships.values_list("authority_id", "role"))


def _may_anywhere(roles: set[str], permission: str) -> bool:
    return any(permissions.role_may(role, permission) for role in roles)


def _bulk_form(request: HttpRequest, ids: list[int], data: Any = None) -> forms.BulkForm:
    return forms.BulkForm(data, report_ids=ids, assignees=selectors.colleagues(request.user))


@staff_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """One action on the selected reports: each is its own audited transition."""
    try:
        ticked = [params.whole_number(v, "reports") for v in request.POST.getlist("reports")]
    except params.InvalidParameter:  # the queue's form only sends ids: a forged request
        return params.refusal(request, 400, _("Each ticked report must be a report's id."))
    visible = reports_visible_to(request.user)
    ids = list(visible.filter(pk__in=ticked).values_list("pk", flat=True))
    data = request.POST.copy()
    data.setlist("reports", [str(pk) for pk in ids])  # what the user may not see is left out
    form = _bulk_form(request, ids, data)
    if not form.is_valid():
        messages.error(request, _("Nothing was changed: %(errors)s") % {"errors": _errors(form)})
        return _back_to_queue(request)
    clean = form.cleaned_data
    result = staff_services.reports_bulk(
        report_ids=clean["reports"],
        action=clean["action"],
        actor=_user(request),
        to_state=clean["to_state"],
        public_note=clean["public_note"],
        assignee=clean["assignee"],
    )
    if result.done:
        messages.success(request, _("Done for %(n)d reports.") % {"n": len(result.done)})
    for ref, why in result.failed.items():
        messages.error(request, f"{ref}: {why}")
    return _back_to_queue(request)


def _ints(values: list[str]) -> list[int]:
    """The ids among these values; anything else is left out (the choices were checked)."""
    ids = []
    for value in values:
        try:
            ids.append(params.whole_number(value, "id"))
        except params.InvalidParameter:
            continue
    return ids


def _errors(form: Any) -> str:
    """The form's errors for a message, each after its field's label (the message is shown
    apart from the form, so "This field is required." alone would not say which field)."""
    return "; ".join(
        f"{form[name].label}: {error}" if name in form.fields else str(error)
        for name, errors in form.errors.items()
        for error in errors
    )


def _back_to_queue(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    url = reverse("staff:queue") + (f"?{query}" if query else "")
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        url = reverse("staff:queue")
    return HttpResponseRedirect(url)


# --- Taking a report for someone else -------------------------------------------------------------


@staff_required
def report_enter(request: HttpRequest) -> HttpResponse:
    """File a report for a caller, someone anonymous, or as the authority (staff_services
    .report_enter checks the permission at the authority the report is routed to)."""
    if not permissions.staff_may_somewhere(request.user, "file_on_behalf"):
        raise PermissionDenied(_("Your role does not allow filing reports for others."))
    initial = {"latitude": request.GET.get("lat"), "longitude": request.GET.get("lon")}
    questions = list(
        CategoryQuestion.objects.filter(category__is_active=True)
        .select_related("category")
        .order_by("category__name", "order", "pk")
    )
    form = forms.EnterReportForm(request.POST or None, initial=initial, questions=questions)
    if request.method == "POST" and form.is_valid():
        try:
            report = _enter(request, form)
        except ValidationError as exc:
            _form_errors(form, exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Report %(ref)s is filed and open.") % {"ref": report.ref})
            return HttpResponseRedirect(reverse("staff:report", args=[report.pk]))
    status = 400 if form.is_bound else 200
    return render(request, "staff/report_new.html", {"form": form}, status=status)


def _enter(request: HttpRequest, form: forms.EnterReportForm) -> Report:
    data = form.cleaned_data
    caller = staff_services.Caller(
        name=data["caller_name"], email=data["caller_email"], phone=data["caller_phone"]
    )
    return staff_services.report_enter(
        actor=_user(request),
        entered_for=data["entered_for"],
        caller=caller if data["entered_for"] == EnteredFor.CALLER else None,
        title=data["title"],
        description=data["description"],
        category=data["category"],
        latitude=data["latitude"],
        longitude=data["longitude"],
        show_name=data["show_name"],
        extra=form.answers(data["category"].pk),
    )


def _form_errors(form: Any, exc: ValidationError) -> None:
    fields = {"name": "caller_name", "email": "caller_email", "phone": "caller_phone"}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.message_dict.items():
        field = fields.get(name, name)
        form.add_error(field if field in form.fields else None, errors)


# --- The work page -------------------------------------------------------------------------------


def _work_queryset(request: HttpRequest) -> Any:
    return (
        selectors.with_overdue(reports_visible_to(request.user))
        .select_related("area", "assignee", "duplicate_of")
        .defer("area__boundary")
        .annotate(support_count=Count("supports", distinct=True))
        .prefetch_related(
            Prefetch(
                "history",
                queryset=ReportStateChange.objects.select_related("actor").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch("photos", queryset=ReportPhoto.objects.order_by("id")),
            Prefetch(
                "updates",
                queryset=ReportUpdate.objects.select_related("author").order_by("created_at", "id"),
            ),
            # The authority's name only: its boundary is hundreds of KB of GeoJSON to decode.
            Prefetch(
                "deliveries",
                queryset=Delivery.objects.select_related("authority", "category").defer(
                    "authority__boundary"
                ),
            ),
            # Citizens' updates sent on to the authority, in the order they were written.
            Prefetch(
                "update_deliveries",
                queryset=UpdateDelivery.objects.select_related("authority")
                .defer("authority__boundary")
                .order_by("created_at", "id"),
            ),
        )
    )


@staff_required
def report_work(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(_work_queryset(request), pk=pk)
    role = permissions.membership_role(request.user, report.authority_id)
    bound: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "save":
            done, bound = _save(request, report, role)
        else:
            # Each action (a key of HANDLERS) needs the permission of the same name.
            if action not in HANDLERS or not permissions.role_may(role, action):
                raise PermissionDenied(_("Your role at this authority does not allow that."))
            done, form = _act(request, report, action)
            bound[action] = form
        if done:
            return HttpResponseRedirect(reverse("staff:report", args=[report.pk]))
        status = 400
    context = _work_context(report, role, bound)
    return render(request, "staff/report_work.html", context, status=status)


# The work page's one form, section by section, in the order its changes are made: the text
# first, the state next, then priority, assignee and visibility, and the category last (a new
# category may hand the report over to another authority, after which this one may do no more).
SECTIONS = ("moderate", "transition", "priority", "assign", "privacy", "recategorise")


def _work_forms(report: Report, data: Any = None) -> dict[str, Any]:
    private = "1" if report.is_private else "0"
    return {
        "moderate": forms.ModerateForm(data, report=report, prefix="moderate"),
        "transition": forms.TransitionForm(data, report=report, optional=True),
        "priority": forms.PriorityForm(data, initial={"priority": report.priority}),
        "assign": forms.AssignForm(data, report=report, initial={"assignee": report.assignee_id}),
        "privacy": forms.PrivacyForm(data, prefix="privacy", initial={"private": private}),
        "recategorise": forms.RecategoriseForm(data, initial={"category": report.category_id}),
    }


def _save(request: HttpRequest, report: Report, role: str | None) -> tuple[bool, dict[str, Any]]:
    """Save the work page's one form: every changed section, all or nothing. On an error the
    page comes back with everything as it was typed, and nothing is changed."""
    bound = _work_forms(report, request.POST)
    valid = [form.is_valid() for form in bound.values()]  # every one, for all their errors
    if not all(valid):
        messages.error(request, _("Nothing was changed: correct the fields marked below."))
        return False, bound
    changed = [name for name in SECTIONS if _changes(name, report, bound[name])]
    if not changed:
        messages.info(request, _("Nothing to save: no field was changed."))
        return True, bound
    for name in changed:
        if not permissions.role_may(role, _permission(name, bound[name])):
            raise PermissionDenied(_("Your role at this authority does not allow that."))
    try:
        with transaction.atomic():
            done = [HANDLERS[name](request, report, bound[name].cleaned_data) for name in changed]
    except (ApplicationError, ValidationError) as exc:
        why = _message(exc)
        messages.error(request, _("Nothing was changed: %(why)s") % {"why": why})
        return False, bound
    for message in done:
        messages.success(request, message)
    return True, bound


def _changes(name: str, report: Report, form: Any) -> bool:
    """Whether this section of the one form asks for a change."""
    data = form.cleaned_data
    if name == "transition":
        return bool(form.has_work())
    if name == "moderate":
        title, description = services._clean_text(data["title"], data["description"])
        hides = data["hide_photos"] or data["hide_updates"]
        return bool(hides or (title, description) != (report.title, report.description))
    current = {
        "priority": (data.get("priority"), report.priority),
        "assign": (getattr(data.get("assignee"), "pk", None), report.assignee_id),
        "privacy": (data.get("private"), report.is_private),
        "recategorise": (getattr(data.get("category"), "pk", None), report.category_id),
    }
    asked, now = current[name]
    return asked != now


def _permission(name: str, form: Any) -> str:
    to_state = str(form.cleaned_data.get("to_state") or "") if name == "transition" else ""
    special = {str(ReportState.DUPLICATE): "duplicate", str(ReportState.SPAM): "spam"}
    return special.get(to_state, name)


def _work_context(report: Report, role: str | None, bound: dict[str, Any]) -> dict[str, Any]:
    may = {name: permissions.role_may(role, name) for name in permissions.PERMISSIONS}
    # The one form as it was sent when saving it failed; else fresh (an old single action's
    # error is in the messages).
    work = bound if len(bound) == len(SECTIONS) else _work_forms(report)
    return {
        "report": report,
        "role": role,
        "may": may,
        "work": work,
        "work_errors": [
            (form[field].auto_id if field in form.fields else "", _label(form, field), error)
            for form in work.values()
            for field, errors in form.errors.items()
            for error in errors
        ],
        "answers": _answers(report),
        # The same privacy switch as the e-mail to the council (and the CSV export).
        "show_contact": settings.FIXPOINT_DELIVERY_REPORTER_CONTACT,
        "templates": list(forms.response_templates(report)),
        "internal_notes": list(selectors.internal_notes(report)),
    }


def _label(form: Any, field: str) -> str:
    return str(form[field].label) if field in form.fields else ""


def _answers(report: Report) -> list[tuple[str, str]]:
    """The answers to the category's extra questions, each after its question (not its code),
    list choices by their names in the active language; answers to questions since removed keep
    their code."""
    questions = {q.code: q for q in report.category.questions.all()}
    answers = []
    for code, value in (report.extra or {}).items():
        question = questions.get(code)
        if question is None:
            answers.append((code, _shown(value, {})))
            continue
        names = {str(v.get("key")): option_name(v) for v in question.values if isinstance(v, dict)}
        answers.append((question.label, _shown(value, names)))
    return answers


def _shown(value: Any, names: dict[str, str]) -> str:
    values = value if isinstance(value, list) else [value]
    return ", ".join(names.get(str(v), str(v)) for v in values)


def _act(request: HttpRequest, report: Report, action: str) -> tuple[bool, Any]:
    """Run one action of the work page. Returns (done, the bound form to show again)."""
    form = _bound_form(request, report, action)
    if form is not None and not form.is_valid():
        messages.error(request, _("Nothing was changed: %(errors)s") % {"errors": _errors(form)})
        return False, form
    data = form.cleaned_data if form is not None else {}
    try:
        message = HANDLERS[action](request, report, data)
    except (ApplicationError, ValidationError) as exc:
        messages.error(request, _message(exc))
        return False, form
    messages.success(request, message)
    return True, None


def _message(exc: Exception) -> str:
    if isinstance(exc, ApplicationError):
        return exc.message
    return "; ".join(cast(ValidationError, exc).messages)


def _bound_form(request: HttpRequest, report: Report, action: str) -> Any:
    data = request.POST
    makers: dict[str, Callable[[], Any]] = {
        "transition": lambda: forms.TransitionForm(data, report=report),
        "assign": lambda: forms.AssignForm(data, report=report),
        "priority": lambda: forms.PriorityForm(data),
        "recategorise": lambda: forms.RecategoriseForm(data),
        "duplicate": lambda: forms.DuplicateForm(data),
        "spam": lambda: forms.SpamForm(data),
        "moderate": lambda: forms.ModerateForm(data, report=report),
        "privacy": lambda: forms.PrivacyForm(data),
    }
    return makers[action]() if action in makers else None


def _do_transition(request: HttpRequest, report: Report, data: dict[str, Any]) -> str:
    if data["to_state"] == ReportState.DUPLICATE:
        return _do_duplicate(request, report, data)
    if data["to_state"] == ReportState.SPAM:
        return _do_spam(request, report, data)
    if not data["to_state"]:
        staff_services.report_note_add(
            report_id=report.pk,
            actor=_user(request),
            public_note=data["public_note"],
            internal_note=data["internal_note"],
        )
        return _("Note added.")
    services.report_transition(
        report_id=report.pk,
        to_state=data["to_state"],
        actor=_user(request),
        public_note=data["public_note"],
        internal_note=data["internal_note"],
    )
    return _("State changed.")


def _do_assign(request: HttpRequest, report: Report, data: dict[str, Any]) -> str:
    services.report_assign(report_id=report.pk, assignee=data["assignee"], actor=_user(request))
    return _("Assignment saved.")


def _do_priority(request: HttpRequest, report: Report, data: dict[str, Any]) -> str:
    services.report_set_priority(
        report_id=report.pk, priority=data["priority"], actor=_user(request)
    )
    return _("Priority saved.")


def _do_recategorise(request: HttpRequest, report: Report, data: dict[str, Any]) -> str:
    staff_services.report_recategorise(
        report_id=report.pk, category=data["category"], actor=_user(request)
    )
    return _("Category saved; the report was routed again.")


def _do_duplicate(request: HttpRequest, report: Report, data: dict[str, Any]) -> str:
    original = find_duplicate_original(request.user, data["original"])
    staff_services.report_mark_duplicate(
        report_id=report.pk,
        original_id=original.pk,
        actor=_user(request),
        public_note=data["public_note"],
    )
    return _("Marked as a duplicate of %(ref)s.") % {"ref": original.ref}


def _do_spam(request: HttpRequest, report: Report, data: dict[str, Any]) -> str:
    staff_services.report_mark_spam(
        report_id=report.pk, actor=_user(request), internal_note=data["internal_note"]
    )
    return _("Marked as spam: the report is hidden.")


def _do_moderate(request: HttpRequest, report: Report, data: dict[str, Any]) -> str:
    staff_services.report_moderate(
        report_id=report.pk,
        actor=_user(request),
        title=data["title"],
        description=data["description"],
        hide_photo_ids=_ints(data["hide_photos"]),
        hide_update_ids=_ints(data["hide_updates"]),
        reason=data["reason"],
    )
    return _("Moderated; the original is kept in the audit log.")


def _do_privacy(request: HttpRequest, report: Report, data: dict[str, Any]) -> str:
    staff_services.report_set_private(
        report_id=report.pk, actor=_user(request), private=data["private"], reason=data["reason"]
    )
    if data["private"]:
        return _("The report is private: only its reporter and your authority's staff see it.")
    return _("The report is public again.")


def _do_resend(request: HttpRequest, report: Report, data: dict[str, Any]) -> str:
    delivery_id = _ints([request.POST.get("delivery", "")])
    found = report.deliveries.filter(pk__in=delivery_id).first()  # only this report's
    if found is None:
        raise ApplicationError(_("Choose a delivery of this report."))
    staff_services.delivery_resend_by_staff(delivery_id=found.pk, actor=_user(request))
    return _("The delivery will be sent again.")


HANDLERS: dict[str, Callable[[HttpRequest, Report, dict[str, Any]], str]] = {
    "transition": _do_transition,
    "assign": _do_assign,
    "priority": _do_priority,
    "recategorise": _do_recategorise,
    "duplicate": _do_duplicate,
    "spam": _do_spam,
    "moderate": _do_moderate,
    "privacy": _do_privacy,
    "resend": _do_resend,
}
