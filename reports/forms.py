"""Forms for citizens. They only collect and check input; services do the writing."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from authorities.models import CategoryQuestion, QuestionDatatype, option_name
from authorities.routing import Location

from .models import Frequency, Opinion


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to FIXPOINT_PHOTOS_PER_REPORT files; each is checked by reports.photos later."""

    def __init__(self, **kwargs: Any) -> None:
        attrs = {"accept": "image/jpeg,image/png,image/webp", "multiple": True}
        super().__init__(widget=MultipleFileInput(attrs=attrs), required=False, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        limit = settings.FIXPOINT_PHOTOS_PER_REPORT
        if len(files) > limit:
            raise forms.ValidationError(_("Attach at most %(n)s photos.") % {"n": limit})
        return [super(PhotosField, self).clean(f, initial) for f in files]


class QuestionsMixin(forms.Form):
    """A category's extra questions as fields of a filing form (the citizens' and staff's):
    every question given, the answers read for the chosen category only, which the service
    checks (required ones included)."""

    questions: list[CategoryQuestion]

    def add_questions(self, questions: list[CategoryQuestion]) -> None:
        self.questions = questions
        for question in questions:
            self.fields[question_field(question)] = field_for(question)

    def answers(self, category_id: int) -> dict[str, Any]:
        return {
            q.code: self.cleaned_data.get(question_field(q))
            for q in self.questions
            if q.category_id == category_id
        }

    def question_fields(self) -> list[tuple[CategoryQuestion, forms.BoundField]]:
        return [(q, self[question_field(q)]) for q in self.questions]


class ReportForm(QuestionsMixin, forms.Form):
    latitude = forms.FloatField(widget=forms.HiddenInput, min_value=-90, max_value=90)
    longitude = forms.FloatField(widget=forms.HiddenInput, min_value=-180, max_value=180)
    # The messages say what to do, not only what is wrong (they are listed in an error summary).
    category = forms.ChoiceField(
        label=_("Category"),
        error_messages={
            "required": _("Choose the kind of problem from the list."),
            "invalid_choice": _("Choose one of the categories offered at this spot."),
        },
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=150,
        help_text=_("A few words, e.g. “Deep pothole by the school”."),
        error_messages={
            "required": _("Give your report a short title, e.g. “Deep pothole by the school”."),
            "max_length": _(
                "Make the title shorter: at most %(limit_value)d characters (it has "
                "%(show_value)d). Put the details in the description."
            ),
        },
    )
    description = forms.CharField(
        label=_("What is the problem?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": _("Describe the problem: what it is and exactly where."),
            "max_length": _(
                "Make the description shorter: at most %(limit_value)d characters (it has "
                "%(show_value)d)."
            ),
        },
    )
    photos = PhotosField(label=_("Photos (up to 3: JPEG, PNG or WebP)"))
    photo_tokens = forms.CharField(widget=forms.HiddenInput, required=False)
    show_name = forms.BooleanField(label=_("Show my name publicly"), required=False)
    name = forms.CharField(
        label=_("Your name"),
        max_length=100,
        required=False,
        error_messages={
            "required": _("Enter your name: it is shown only if you tick “Show my name publicly”.")
        },
    )
    email = forms.EmailField(
        label=_("Your e-mail"),
        required=False,
        help_text=_("We send you a link to confirm the report. It is never shown publicly."),
        error_messages={
            "required": _("Enter your e-mail address: we send the confirmation link there."),
            "invalid": _("Enter an e-mail address like name@example.org."),
        },
    )
    confirm_new = forms.BooleanField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        location: Location | None,
        anonymous: bool,
        questions: list[CategoryQuestion],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.location, self.anonymous = location, anonymous
        cast(forms.ChoiceField, self.fields["category"]).choices = _grouped_choices(location)
        self.add_questions(questions)
        if anonymous:
            self.fields["name"].required = True
            self.fields["email"].required = True
        else:
            del self.fields["name"], self.fields["email"]


def _grouped_choices(location: Location | None) -> list[Any]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for offer in location.offers if location else ():
        groups.setdefault(offer.category.group, []).append(
            (offer.category.slug, offer.category.name)
        )
    return [("", _("Choose a category")), *groups.items()]


def question_field(question: CategoryQuestion) -> str:
    return f"q_{question.category_id}_{question.code}"


def field_for(question: CategoryQuestion) -> forms.Field:
    # Required-ness is checked by the service for the chosen category only.
    common: dict[str, Any] = {
        "label": question.label,
        "required": False,
        "help_text": question.help_text,
    }
    choices = [(v["key"], option_name(v)) for v in question.values if isinstance(v, dict)]
    if question.datatype == QuestionDatatype.SINGLEVALUELIST:
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    if question.datatype == QuestionDatatype.MULTIVALUELIST:
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    if question.datatype == QuestionDatatype.NUMBER:
        return forms.CharField(widget=forms.NumberInput, **common)
    if question.datatype == QuestionDatatype.DATETIME:
        return forms.CharField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common
        )
    if question.datatype == QuestionDatatype.TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    return forms.CharField(max_length=200, **common)


class UpdateForm(forms.Form):
    text = forms.CharField(
        label=_("Your update"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    opinion = forms.ChoiceField(label=_("Is it fixed?"), choices=Opinion.choices, required=False)
    photos = PhotosField(label=_("Photos (optional)"))
    photo_tokens = forms.CharField(widget=forms.HiddenInput, required=False)
    show_name = forms.BooleanField(label=_("Show my name publicly"), required=False)


class QuestionnaireForm(forms.Form):
    answer = forms.ChoiceField(
        label=_("Has this been fixed?"),
        choices=[("yes", _("Yes, it has been fixed")), ("no", _("No, it is still a problem"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional, public)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AccountDeleteForm(forms.Form):
    """Deleting an account asks for the password again (a session left open on a shared
    computer must not be enough), or, for an account without one, an explicit tick."""

    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput, strip=False)
    understood = forms.BooleanField(
        label=_("I understand that this cannot be undone."), required=True
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            del self.fields["password"]

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."))
        return password


class EmailForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail"))


class AlertForm(forms.Form):
    KIND_CHOICES = [
        ("area", _("New reports in a neighbourhood")),
        ("authority", _("New reports in a district")),
        ("radius", _("New reports near a point")),
    ]
    kind = forms.ChoiceField(
        label=_("Alert me about"), choices=KIND_CHOICES, widget=forms.RadioSelect
    )
    area = forms.ChoiceField(label=_("Neighbourhood"), required=False)
    authority = forms.ChoiceField(label=_("District"), required=False)
    latitude = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(
        label=_("Longitude"), required=False, min_value=-180, max_value=180
    )
    radius_m = forms.IntegerField(
        label=_("Within (metres)"), required=False, initial=500, min_value=50, max_value=5000
    )
    frequency = forms.ChoiceField(
        label=_("How often"),
        choices=Frequency.choices,
        initial=Frequency.IMMEDIATE,
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(label=_("Your e-mail"))


class ReportEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=150)
    description = forms.CharField(
        label=_("What is the problem?"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    show_name = forms.BooleanField(label=_("Show my name publicly"), required=False)


class PasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("Choose a password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("The same password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") != data.get("password2"):
            raise forms.ValidationError(_("The two passwords differ."))
        return data
