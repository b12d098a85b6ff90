"""Forms of the staff pages. Choices come from what the user may see, never from the whole table."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from authorities.models import Category, CategoryQuestion, StaffMembership
from reports.forms import QuestionsMixin
from reports.models import (
    TRANSITIONS,
    Actor,
    EnteredFor,
    Priority,
    Report,
    ReportState,
    ResponseTemplate,
)
from reports.notes import NOTE_MAX_LENGTH

NOTE = forms.Textarea(attrs={"rows": 3})


def bulk_states() -> list[tuple[str, str | Promise]]:
    """States staff can move a report to from some state, in the lifecycle's order. Not
    Duplicate: a bulk move names no original (the work page marks duplicates one by one)."""
    reachable = {
        to_state
        for moves in TRANSITIONS.values()
        for to_state, who in moves.items()
        if Actor.STAFF in who
    }
    reachable.discard(ReportState.DUPLICATE)
    return [(value, label) for value, label in ReportState.choices if value in reachable]


def response_templates(report: Report) -> QuerySet[ResponseTemplate]:
    """Templates for this report's authority and category (or for any), most specific first."""
    return ResponseTemplate.objects.filter(
        Q(authority=report.authority_id) | Q(authority__isnull=True),
        Q(category=report.category_id) | Q(category__isnull=True),
        is_active=True,
    ).order_by("authority", "category", "state", "title")


def colleagues_of(report: Report) -> QuerySet[User]:
    members = StaffMembership.objects.filter(authority_id=report.authority_id)
    return User.objects.filter(pk__in=members.values("user_id"), is_active=True).order_by("email")


class StaffForm(forms.Form):
    # The work page holds several forms: ids are prefixed so each label finds its own field.
    id_prefix = "id"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)

    def _field(self, name: str) -> Any:
        return self.fields[name]  # a ChoiceField or ModelChoiceField: its choices are set here


class TransitionForm(StaffForm):
    to_state = forms.ChoiceField(label=_("New state"), required=False)
    template = forms.ModelChoiceField(
        queryset=ResponseTemplate.objects.none(), required=False, label=_("Response template")
    )
    public_note = forms.CharField(
        label=_("Public response"), widget=NOTE, required=False, max_length=NOTE_MAX_LENGTH
    )
    internal_note = forms.CharField(
        label=_("Internal note (staff only)"),
        widget=NOTE,
        required=False,
        max_length=NOTE_MAX_LENGTH,
    )

    original = forms.CharField(
        label=_("Original report (reference)"),
        required=False,
        max_length=12,
        help_text=_("For Duplicate: the report this one repeats, e.g. 7KX4M2Q."),
    )

    def __init__(self, *args: Any, report: Report, optional: bool = False, **kwargs: Any) -> None:
        # optional: part of the work page's one form, where leaving it empty changes nothing.
        super().__init__(*args, **kwargs)
        self.optional = optional
        labels = dict(ReportState.choices)
        moves = [s for s in ReportState.values if s in TRANSITIONS.get(report.state, {})]
        self._field("to_state").choices = [
            ("", _("Keep the state (note only)")),
            *[(s, labels[s]) for s in moves],
        ]
        self._field("template").queryset = response_templates(report)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        template = data.get("template")
        if template is not None and not data.get("public_note", "").strip():
            data["public_note"] = template.text  # without JavaScript the choice still counts
        if data.get("to_state") == ReportState.DUPLICATE and not data.get("original", "").strip():
            self.add_error("original", _("Give the reference of the original report."))
        notes = data.get("internal_note", "").strip() or data.get("public_note", "").strip()
        if not self.optional and not data.get("to_state") and not notes:
            raise forms.ValidationError(_("Choose a new state or write a note."))
        return data

    def has_work(self) -> bool:
        data = self.cleaned_data
        notes = data.get("internal_note", "").strip() or data.get("public_note", "").strip()
        return bool(data.get("to_state") or notes)


class AssignForm(StaffForm):
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("Assign to"), empty_label=_("Nobody")
    )

    def __init__(self, *args: Any, report: Report, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._field("assignee").queryset = colleagues_of(report)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices, label=_("Priority"))


class RecategoriseForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(is_active=True).order_by("group", "name"),
        label=_("Category"),
    )


class DuplicateForm(StaffForm):
    id_prefix = "duplicate"
    original = forms.CharField(
        label=_("Original report (reference)"), max_length=12, help_text=_("e.g. 7KX4M2Q")
    )
    public_note = forms.CharField(
        label=_("Public response"), widget=NOTE, required=False, max_length=NOTE_MAX_LENGTH
    )


class SpamForm(StaffForm):
    id_prefix = "spam"
    internal_note = forms.CharField(
        label=_("Why (staff only)"), widget=NOTE, required=False, max_length=NOTE_MAX_LENGTH
    )


class EnterReportForm(QuestionsMixin, StaffForm):
    """A report staff take for someone else (/staff/reports/new/)."""

    id_prefix = "enter"
    entered_for = forms.ChoiceField(
        label=_("For whom"), choices=EnteredFor.choices, widget=forms.RadioSelect, initial="caller"
    )
    caller_name = forms.CharField(label=_("Caller's name"), required=False, max_length=100)
    caller_email = forms.EmailField(
        label=_("Caller's e-mail"),
        required=False,
        help_text=_("They get the confirmation and the updates; no account needed."),
    )
    caller_phone = forms.CharField(label=_("Caller's phone"), required=False, max_length=30)
    show_name = forms.BooleanField(label=_("Show the caller's name publicly"), required=False)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.filter(is_active=True)
    )
    title = forms.CharField(label=_("Title"), max_length=150)
    description = forms.CharField(label=_("Description"), widget=NOTE, max_length=5000)
    latitude = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90)
    longitude = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180)

    def __init__(self, *args: Any, questions: list[CategoryQuestion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_questions(questions)  # every active category's: the page shows the chosen one's


class PrivacyForm(StaffForm):
    id_prefix = "privacy"
    private = forms.TypedChoiceField(
        label=_("Who sees it"),
        choices=(("0", _("Public")), ("1", _("Private: its reporter and this authority's staff"))),
        coerce=lambda value: value == "1",
    )
    reason = forms.CharField(
        label=_("Why (staff only)"), required=False, max_length=NOTE_MAX_LENGTH
    )


class ModerateForm(StaffForm):
    id_prefix = "moderate"
    title = forms.CharField(label=_("Title"), max_length=150)
    description = forms.CharField(label=_("Description"), widget=NOTE, max_length=5000)
    hide_photos = forms.MultipleChoiceField(
        label=_("Hide photos"), required=False, widget=forms.CheckboxSelectMultiple
    )
    hide_updates = forms.MultipleChoiceField(
        label=_("Hide citizens' updates"), required=False, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label=_("Reason (staff only)"), required=False, max_length=NOTE_MAX_LENGTH
    )

    def __init__(self, *args: Any, report: Report, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"title": report.title, "description": report.description})
        super().__init__(*args, **kwargs)
        photos = report.photos.filter(is_hidden=False)
        updates = report.updates.filter(is_hidden=False)
        self._field("hide_photos").choices = [(p.pk, f"#{p.pk}") for p in photos]
        self._field("hide_updates").choices = [(u.pk, u.text[:60]) for u in updates]


class BulkForm(StaffForm):
    ACTIONS = (
        ("verify", _("Verify")),
        ("transition", _("Change state")),
        ("assign", _("Assign")),
        ("spam", _("Mark as spam")),
    )
    reports = forms.TypedMultipleChoiceField(
        coerce=int,
        label=_("Reports"),
        error_messages={"required": _("Tick at least one report.")},
    )
    action = forms.ChoiceField(choices=ACTIONS, label=_("Action"))
    to_state = forms.ChoiceField(
        choices=[("", "—"), *bulk_states()], required=False, label=_("New state")
    )
    public_note = forms.CharField(
        label=_("Public response (to every report)"),
        widget=NOTE,
        required=False,
        max_length=NOTE_MAX_LENGTH,
    )
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("Assign to"), empty_label=_("Nobody")
    )

    def __init__(
        self, *args: Any, report_ids: list[int], assignees: QuerySet[User], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._field("reports").choices = [(pk, pk) for pk in report_ids]
        self._field("assignee").queryset = assignees

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "transition" and not data.get("to_state"):
            self.add_error("to_state", _("Choose the new state."))
        return data
