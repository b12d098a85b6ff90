"""Reports of street problems, their lifecycle and what citizens add to them."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modeltranslation.manager import MultilingualManager

from authorities.models import Area, Authority, Category, DeliveryMethod, StaffMembership
from config.text import JSONField, LineField, TextField

from .notes import NOTE_MAX_LENGTH, NoteTooLong


class ReportState(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("Unconfirmed")
    OPEN = "open", _("Open")
    VERIFIED = "verified", _("Verified")
    IN_PROGRESS = "in_progress", _("In progress")
    FIXED = "fixed", _("Fixed")
    CLOSED = "closed", _("Closed")
    DUPLICATE = "duplicate", _("Duplicate")
    NOT_RESPONSIBLE = "not_responsible", _("Not the council's responsibility")
    SPAM = "spam", _("Spam")


S = ReportState
OPEN_STATES = frozenset({S.OPEN, S.VERIFIED, S.IN_PROGRESS})
CLOSING_OUTCOMES = frozenset({S.DUPLICATE, S.NOT_RESPONSIBLE, S.SPAM})
FINISHED_STATES = frozenset({S.CLOSED}) | CLOSING_OUTCOMES
# Never shown to the public: not yet confirmed by e-mail, or judged to be spam.
HIDDEN_STATES = frozenset({S.UNCONFIRMED, S.SPAM})


class Actor(models.TextChoices):
    """Who moves a report: staff of its authority, the person who reported it, or the system
    (an e-mail confirmation link, an authority's own system via Open311)."""

    STAFF = "staff", _("Staff")
    REPORTER = "reporter", _("Reporter")
    SYSTEM = "system", _("System")


_STAFF: frozenset[str] = frozenset({Actor.STAFF, Actor.SYSTEM})
_STAFF_OR_REPORTER: frozenset[str] = _STAFF | {Actor.REPORTER}
_CLOSE_AS: dict[str, frozenset[str]] = dict.fromkeys(CLOSING_OUTCOMES, _STAFF)

# The allowed moves: from state -> {to state: who may make it}. Anything not here is refused.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    S.UNCONFIRMED: {S.OPEN: _STAFF, S.SPAM: _STAFF},
    S.OPEN: {
        S.VERIFIED: _STAFF,
        S.IN_PROGRESS: _STAFF,
        S.FIXED: _STAFF_OR_REPORTER,
        S.CLOSED: _STAFF_OR_REPORTER,  # the reporter withdraws their own open report
        **_CLOSE_AS,
    },
    S.VERIFIED: {S.IN_PROGRESS: _STAFF, S.FIXED: _STAFF_OR_REPORTER, S.CLOSED: _STAFF, **_CLOSE_AS},
    S.IN_PROGRESS: {S.VERIFIED: _STAFF, S.FIXED: _STAFF_OR_REPORTER, S.CLOSED: _STAFF, **_CLOSE_AS},
    S.FIXED: {S.OPEN: _STAFF_OR_REPORTER, S.CLOSED: _STAFF},
    S.CLOSED: {S.OPEN: _STAFF},
    S.DUPLICATE: {S.OPEN: _STAFF},
    S.NOT_RESPONSIBLE: {S.OPEN: _STAFF},
    S.SPAM: {S.OPEN: _STAFF},
}


class EnteredFor(models.TextChoices):
    """For whom staff entered a report (empty: the reporter filed it themself)."""

    CALLER = "caller", _("A caller (phone, counter, letter)")
    ANONYMOUS = "anonymous", _("Someone who stays anonymous")
    AUTHORITY = "authority", _("The authority itself (staff's own finding)")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class ReportQuerySet(models.QuerySet["Report"]):
    def public(self) -> ReportQuerySet:
        """What anybody may see: every surface for the public (pages, map, search, feeds, API,
        Open311, public statistics) starts here. Never unconfirmed or spam, never private."""
        return self.exclude(state__in=HIDDEN_STATES).filter(is_private=False)

    def visible_to(self, user: Any) -> ReportQuerySet:
        """The public reports, and the private ones ``user`` filed or works on as staff of the
        report's authority (any for a superuser)."""
        if not (getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)):
            return self.public()
        if user.is_superuser:
            return self.exclude(state__in=HIDDEN_STATES)
        theirs = models.Q(reporter=user) | models.Q(
            authority_id__in=StaffMembership.objects.filter(user=user).values("authority_id")
        )
        return self.exclude(state__in=HIDDEN_STATES).filter(models.Q(is_private=False) | theirs)

    def with_related(self) -> ReportQuerySet:
        # The authority's boundary (GeoJSON, hundreds of KB) is never shown with a report:
        # loading it for every row made a list of 50 reports take half a second.
        return self.select_related("category", "authority", "reporter").defer("authority__boundary")


# A nanodegree is a tenth of a millimetre: a coordinate nearer 0 than that is 0.
NEAR_ZERO = 1e-9


class CoordinateField(models.FloatField):
    """A latitude or longitude: one a hair from 0 (5e-324, which a client or a cell edge's
    arithmetic can send) is written as 0. PostgreSQL's GiST index on a report's point multiplies
    the sides of its pages' bounding boxes, and a page of such points has an area below the
    smallest double: PostgreSQL then refused every later insert through that page ("value out
    of range: underflow"), even after the tiny rows were rolled back. A check constraint
    (Report.Meta) refuses what reaches the table around the models."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is not None and value != 0 and abs(value) < NEAR_ZERO:
            return 0.0
        return value


def _not_near_zero(field: str) -> models.Q:
    return (
        models.Q(**{field: 0})
        | models.Q(**{f"{field}__gte": NEAR_ZERO})
        | models.Q(**{f"{field}__lte": -NEAR_ZERO})
    )


class Report(models.Model):
    # Unique through Meta.constraints, not unique=True: on PostgreSQL that also built a second,
    # LIKE-pattern index that no query uses, and every filing paid for it.
    ref = models.CharField(_("reference"), max_length=12, editable=False)
    title = LineField(_("title"), max_length=150)
    description = TextField(_("description"), max_length=5000)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="reports"
    )
    latitude = CoordinateField(_("latitude"))
    longitude = CoordinateField(_("longitude"))
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="reports",
        db_index=False,  # report_authority_state (authority, state) serves lookups by authority
        help_text=_("Set by routing from the location and category, never by the reporter."),
    )
    area = models.ForeignKey(
        Area,
        verbose_name=_("neighbourhood"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    address = LineField(
        _("nearest address"),
        max_length=200,
        blank=True,
        help_text=_("The nearest address or place when it was filed, from the gazetteer."),
    )
    extra = JSONField(_("answers to extra questions"), default=dict, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    reporter_name = LineField(_("reporter's name"), max_length=100, blank=True)
    reporter_email = models.EmailField(_("reporter's e-mail"), blank=True)
    reporter_phone = LineField(_("reporter's phone"), max_length=30, blank=True)
    show_name = models.BooleanField(_("show my name publicly"), default=False)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports_entered",
        help_text=_("The staff member who entered it for someone else."),
    )
    entered_for = models.CharField(
        _("entered for"), max_length=10, choices=EnteredFor.choices, blank=True, default=""
    )
    is_private = models.BooleanField(
        _("private"),
        default=False,
        help_text=_(
            "Worked like any other report, but shown only to its reporter and the authority's "
            "staff. Set from a non-public category, or by staff."
        ),
    )
    state = models.CharField(
        _("state"), max_length=20, choices=ReportState.choices, default=ReportState.UNCONFIRMED
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_reports",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent to the authority"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    fixed_at = models.DateTimeField(_("fixed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Filed with a broker: the reporter's subscription, area alerts and the delivery row are
    # written by a worker (reports.followups), which clears this. The row is the outbox entry.
    follow_up_due = models.BooleanField(_("follow-up due"), default=False, editable=False)

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering: ClassVar = ["-created_at"]
        indexes: ClassVar = [
            models.Index(fields=["latitude", "longitude"], name="report_lat_lon"),
            models.Index(fields=["authority", "state"], name="report_authority_state"),
            models.Index(fields=["state", "-created_at"], name="report_state_created"),
            models.Index(
                fields=["id"], condition=models.Q(follow_up_due=True), name="report_follow_up_due"
            ),
            # The public lists' order, then the bounding box and the state as key columns: a
            # page of the API's bbox list checks the box in the index and reads only the rows it
            # answers (a scan of created_at read a row from the table for every report it passed
            # over), and Open311's pages take their ids from the index alone
            # (docs/benchmarks.md). The state is a column, not in the condition: a prepared
            # statement's generic plan gets the hidden states as parameters, and could not
            # prove such a condition.
            models.Index(
                fields=["created_at", "id", "latitude", "longitude", "state"],
                condition=models.Q(is_private=False),
                name="report_public_created",
            ),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["ref"], name="report_ref_unique"),
            models.CheckConstraint(
                condition=_not_near_zero("latitude"),
                name="report_latitude_not_near_zero",
                violation_error_message=_("A latitude nearer 0 than a nanodegree must be 0."),
            ),
            models.CheckConstraint(
                condition=_not_near_zero("longitude"),
                name="report_longitude_not_near_zero",
                violation_error_message=_("A longitude nearer 0 than a nanodegree must be 0."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("reports:detail", kwargs={"ref": self.ref})

    @property
    def is_public(self) -> bool:
        """Whether anybody may see it: the test of Report.objects.public() for one report."""
        return self.state not in HIDDEN_STATES and not self.is_private

    @property
    def is_shown(self) -> bool:
        """Confirmed and not spam: worked, delivered and followed (private or not)."""
        return self.state not in HIDDEN_STATES

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def public_reporter_name(self) -> str:
        if not self.show_name:
            return str(_("Anonymous"))
        if self.reporter is not None:
            return str(self.reporter.public_name)
        return self.reporter_name or str(_("Anonymous"))


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError(f"{self.model.__name__} rows are append-only.")

    def delete(self) -> Any:
        raise TypeError(f"{self.model.__name__} rows are append-only.")


class AppendOnlyModel(models.Model):
    """A record of what happened: written once, never edited or deleted, not even in bulk.
    A correction is a new row (`correction` says which kind, for the error message)."""

    correction = "record a new one instead"

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError(f"{type(self).__name__} rows are append-only: {self.correction}.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} rows are append-only.")


class ReportStateChange(AppendOnlyModel):
    """One row per state change, never edited: the public timeline and the audit trail."""

    report = models.ForeignKey(
        Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="history"
    )
    from_state = models.CharField(
        _("previous state"), max_length=20, choices=ReportState.choices, blank=True
    )
    to_state = models.CharField(_("new state"), max_length=20, choices=ReportState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    actor_kind = models.CharField(_("acting as"), max_length=20, choices=Actor.choices)
    public_note = TextField(_("public note"), blank=True)
    internal_note = TextField(_("internal note"), blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("state change")
        verbose_name_plural = _("state changes")
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        before = self.get_from_state_display() or "-"
        return f"{self.report_id}: {before} → {self.get_to_state_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The services refuse a long note first (reports.notes); this catches a new way in.
        for field in ("public_note", "internal_note"):
            if len(getattr(self, field)) > NOTE_MAX_LENGTH:
                raise NoteTooLong(field)
        super().save(*args, **kwargs)


class Opinion(models.TextChoices):
    NONE = "", _("No opinion")
    FIXED = "fixed", _("I think this is fixed")
    STILL_A_PROBLEM = "still_a_problem", _("This is still a problem")


class ReportUpdate(models.Model):
    """A citizen's comment on a report, optionally saying whether the problem is fixed."""

    report = models.ForeignKey(
        Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="updates"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    author_name = LineField(_("author's name"), max_length=100, blank=True)
    text = TextField(_("update"), max_length=5000)
    opinion = models.CharField(
        _("opinion"), max_length=20, choices=Opinion.choices, blank=True, default=""
    )
    show_name = models.BooleanField(_("show the name publicly"), default=False)
    is_hidden = models.BooleanField(_("hidden by a moderator"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("citizen update")
        verbose_name_plural = _("citizen updates")
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return _("Update on report %(report)s") % {"report": self.report_id}


class QuestionnaireAnswer(models.TextChoices):
    FIXED = "fixed", _("Fixed")
    NOT_FIXED = "not_fixed", _("Not fixed")


class Questionnaire(models.Model):
    """A "Has this been fixed?" e-mail to a report's reporter (reports.questionnaires), and their
    answer. The answers are the citizens' fix rate (reports.selectors.questionnaire_fix_rate)."""

    report = models.ForeignKey(
        Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="questionnaires"
    )
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    # The report's state when the question was asked and when it was answered.
    state_when_sent = models.CharField(
        _("state when sent"), max_length=20, choices=ReportState.choices
    )
    answer = models.CharField(
        _("answer"), max_length=20, choices=QuestionnaireAnswer.choices, blank=True
    )
    state_when_answered = models.CharField(
        _("state when answered"), max_length=20, choices=ReportState.choices, blank=True
    )
    comment = TextField(_("comment"), max_length=5000, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
        ordering: ClassVar = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return _("Questionnaire %(id)s on report %(report)s") % {
            "id": self.pk,
            "report": self.report_id,
        }

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class ReportPhoto(models.Model):
    """A photo of a report or of an update. Until the form it came with is accepted it belongs to
    no report and is found by its upload token, so a form shown again keeps its photos."""

    report = models.ForeignKey(
        Report,
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        related_name="photos",
        null=True,
        blank=True,
    )
    update = models.ForeignKey(
        "ReportUpdate",
        verbose_name=_("citizen update"),
        on_delete=models.CASCADE,
        related_name="photos",
        null=True,
        blank=True,
    )
    upload_token = models.CharField(
        _("upload token"), max_length=64, blank=True, db_index=True, editable=False
    )
    image = models.ImageField(
        _("image"), upload_to="reports/%Y/%m/", width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(_("width (pixels)"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height (pixels)"), null=True, blank=True)
    is_hidden = models.BooleanField(_("hidden by a moderator"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return _("Photo %(id)s of report %(report)s") % {"id": self.pk, "report": self.report_id}


class Support(models.Model):
    """A "me too": somebody else has the same problem. One per person and report."""

    report = models.ForeignKey(
        Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="supports"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    email = models.EmailField(_("e-mail"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("support")
        verbose_name_plural = _("supports")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["report", "user"],
                condition=models.Q(user__isnull=False),
                name="support_once_per_user",
            ),
            models.UniqueConstraint(
                fields=["report", "email"],
                condition=~models.Q(email=""),
                name="support_once_per_email",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(email=""),
                name="support_has_someone",
            ),
        ]

    def __str__(self) -> str:
        return _("Support for report %(report)s") % {"report": self.report_id}


class SubscriptionKind(models.TextChoices):
    REPORT = "report", _("Updates to one report")
    AREA = "area", _("New reports in a neighbourhood")
    AUTHORITY = "authority", _("New reports in a district or council area")
    RADIUS = "radius", _("New reports near a point")


class Frequency(models.TextChoices):
    IMMEDIATE = "immediate", _("One e-mail each")
    DAILY = "daily", _("A daily digest")


class Subscription(models.Model):
    """Somebody asked to be told by e-mail about a report or about new reports in a place."""

    email = models.EmailField(_("e-mail"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SubscriptionKind.choices)
    report = models.ForeignKey(
        Report,
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    area = models.ForeignKey(
        Area, verbose_name=_("neighbourhood"), on_delete=models.CASCADE, null=True, blank=True
    )
    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), on_delete=models.CASCADE, null=True, blank=True
    )
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    radius_m = models.PositiveIntegerField(_("radius (metres)"), null=True, blank=True)
    frequency = models.CharField(
        _("frequency"), max_length=20, choices=Frequency.choices, default=Frequency.IMMEDIATE
    )
    is_confirmed = models.BooleanField(_("confirmed"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    # The language e-mails about it are written in (settings.LANGUAGES): the one the person read
    # in when they subscribed; an account's own choice wins (reports.notifications).
    language = models.CharField(_("language"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("e-mail alert")
        verbose_name_plural = _("e-mail alerts")
        indexes: ClassVar = [
            models.Index(fields=["kind", "is_confirmed"], name="subscription_kind")
        ]

    def __str__(self) -> str:
        return f"{self.email}: {self.describe()}"

    @property
    def is_active(self) -> bool:
        return self.is_confirmed and self.unsubscribed_at is None

    def describe(self) -> str:
        if self.kind == SubscriptionKind.REPORT and self.report is not None:
            return str(_("updates to “%(title)s”") % {"title": self.report.title})
        if self.kind == SubscriptionKind.AREA and self.area is not None:
            return str(_("new reports in %(place)s") % {"place": self.area.name})
        if self.kind == SubscriptionKind.AUTHORITY and self.authority is not None:
            return str(_("new reports in %(place)s") % {"place": self.authority.name})
        return str(_("new reports within %(radius)s m of a point") % {"radius": self.radius_m})


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    HELD = "held", _("Held for the daily digest")
    SENT = "sent", _("Sent")
    DIGESTED = "digested", _("Sent in a digest")
    FAILED = "failed", _("Failed")


class Notification(models.Model):
    """An e-mail to a citizen, written in the transaction that caused it (the outbox).

    A Celery task sends it after commit; a periodic job sends whatever is still pending, so a lost
    task or a mail server that was down delays an e-mail but never loses it.
    """

    to_email = models.EmailField(_("to"))
    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("e-mail alert"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    report = models.ForeignKey(
        Report, verbose_name=_("report"), on_delete=models.CASCADE, null=True, blank=True
    )
    kind = models.CharField(_("kind"), max_length=40)
    # What subject and body are in.
    language = models.CharField(_("language"), max_length=10, blank=True)
    subject = LineField(_("subject"), max_length=200)
    body = TextField(_("text"))
    unsubscribe_url = models.URLField(_("unsubscribe link"), max_length=500, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=NotificationStatus.choices,
        default=NotificationStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    send_after = models.DateTimeField(_("not before"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail to a citizen")
        verbose_name_plural = _("e-mails to citizens")
        indexes: ClassVar = [
            models.Index(fields=["status", "send_after"], name="notification_due"),
        ]

    def __str__(self) -> str:
        return _("%(kind)s to %(email)s (%(status)s)") % {
            "kind": self.kind,  # a machine name: report_confirm, alert, digest...
            "email": self.to_email,
            "status": self.get_status_display(),
        }


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    HELD = "held", _("Held: the reporter is banned")


class OutboxRow(models.Model):
    """What every outbox row keeps of its sending (reports.delivery.outbox moves it forward):
    its status, attempts and when the next is due, who claimed it, the last error, and the id
    the other side gave it."""

    method = models.CharField(_("method"), max_length=20, choices=DeliveryMethod.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    last_error = TextField(_("last error"), blank=True)
    remote_id = models.CharField(_("id on the remote side"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        abstract = True


class Delivery(OutboxRow):
    """A report on its way to the authority responsible for it: the outbox row is the truth.

    Written in the transaction that makes the report open; a Celery task sends it after commit;
    the re-drive (Celery beat, `manage.py send_pending`) sends what is due and recovers rows left
    in "sending" by a worker that died. See reports.delivery and docs/architecture.md.
    """

    report = models.ForeignKey(
        Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="deliveries"
    )
    # Authority and category are kept (not only the link) so the row keeps its meaning, and its
    # uniqueness, if the link is later removed from the authority.
    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), on_delete=models.PROTECT, related_name="deliveries"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="deliveries"
    )
    destination = models.ForeignKey(
        "authorities.AuthorityCategory",
        verbose_name=_("destination"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )

    class Meta:
        verbose_name = _("delivery to an authority")
        verbose_name_plural = _("deliveries to authorities")
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["report", "authority", "category"], name="delivery_once_per_destination"
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return _("Report %(report)s to authority %(authority)s by %(method)s (%(status)s)") % {
            "report": self.report_id,
            "authority": self.authority_id,
            "method": self.get_method_display(),
            "status": self.get_status_display(),
        }

    @property
    def idempotency_key(self) -> str:
        """The same on every attempt of this delivery, and on no other delivery anywhere: the id
        alone would repeat if this database were restored or set up again with the same key at
        the council (which may keep keys for a day: a second Fixpoint does), so the report's
        random reference goes with it."""
        return f"{self.pk}-{self.report.ref}"


class StatusPoll(models.Model):
    """When Fixpoint last asked an Open311 destination what became of the requests sent to it
    (reports.delivery.status_sync). One row per destination; the next poll asks for changes
    since then."""

    destination = models.OneToOneField(
        "authorities.AuthorityCategory",
        verbose_name=_("destination"),
        on_delete=models.CASCADE,
        related_name="status_poll",
    )
    polled_at = models.DateTimeField(
        _("changes fetched up to"),
        null=True,
        blank=True,
        help_text=_("When the last successful poll started."),
    )
    attempted_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("Open311 status poll")
        verbose_name_plural = _("Open311 status polls")

    def __str__(self) -> str:
        return _("Status poll of destination %(id)s") % {"id": self.destination_id}


class UpdateEvent(models.TextChoices):
    COMMENT = "comment", _("A comment")
    STILL_A_PROBLEM = "still_a_problem", _("Still a problem")
    REOPENED = "reopened", _("Reopened by the reporter")
    SUPPORT = "support", _("Support count reached")


class UpdateDelivery(OutboxRow):
    """A citizen's update on a report on its way to the authority that got the report: the
    outbox row, written in the transaction of the update (or reopening, or "me too") and sent
    by the channel of the report's destination. See reports.delivery.council_updates."""

    report = models.ForeignKey(
        Report,
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        related_name="update_deliveries",
    )
    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), on_delete=models.PROTECT, related_name="+"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    destination = models.ForeignKey(
        "authorities.AuthorityCategory",
        verbose_name=_("destination"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="update_deliveries",
    )
    event = models.CharField(_("event"), max_length=20, choices=UpdateEvent.choices)
    update = models.ForeignKey(
        ReportUpdate,
        verbose_name=_("citizen update"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    state_change = models.ForeignKey(
        ReportStateChange,
        verbose_name=_("state change"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    support_count = models.PositiveIntegerField(_("support count"), null=True, blank=True)

    class Meta:
        verbose_name = _("update sent to an authority")
        verbose_name_plural = _("updates sent to authorities")
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["status", "next_attempt_at"], name="update_delivery_due"),
        ]

    def __str__(self) -> str:
        return _("%(event)s on report %(report)s to authority %(authority)s (%(status)s)") % {
            "event": self.get_event_display(),
            "report": self.report_id,
            "authority": self.authority_id,
            "status": self.get_status_display(),
        }

    @property
    def idempotency_key(self) -> str:
        """The same on every attempt of this update, and unlike any report delivery's key."""
        return f"update-{self.pk}-{self.report.ref}"


class ResponseTemplate(models.Model):
    """A ready-made public response staff pick when moving a report (edited in the admin).

    Empty authority, category or state means "any": the most specific templates are offered first.
    """

    title = LineField(_("title"), max_length=100)
    text = TextField(_("response"), max_length=NOTE_MAX_LENGTH)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="response_templates",
        help_text=_("Empty: every authority."),
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="response_templates",
        help_text=_("Empty: every category."),
    )
    state = models.CharField(
        _("for the state"),
        max_length=20,
        choices=ReportState.choices,
        blank=True,
        help_text=_("The state the report moves to; empty: any."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    # django-modeltranslation's manager (it would patch the default one in): queries on a
    # translated field read the active language's column.
    objects: ClassVar[MultilingualManager[ResponseTemplate]] = MultilingualManager()

    class Meta:
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        ordering: ClassVar = ["title"]

    def __str__(self) -> str:
        return self.title


class AuditAction(models.TextChoices):
    TRANSITION = "transition", _("State change")
    REROUTE = "reroute", _("Re-categorised or moved")
    EDIT = "edit", _("Edit")
    MODERATION = "moderation", _("Moderation")
    ASSIGNMENT = "assignment", _("Assignment")
    PRIORITY = "priority", _("Priority")
    DUPLICATE = "duplicate", _("Marked as duplicate")
    SPAM = "spam", _("Marked as spam")
    PRIVACY = "privacy", _("Made private or public")
    ENTERED = "entered", _("Filed for someone else")
    SITE_MESSAGE = "site_message", _("Site message published, changed or removed")
    DELIVERY = "delivery", _("Delivery resent or marked sent")
    EXPORT = "export", _("Export")
    LOGIN = "login", _("Log-in")
    ACCOUNT = "account", _("Account care")


class AuditEntry(AppendOnlyModel):
    """What a staff member did, when, to what, and the values before and after. Never edited or
    deleted through the application (refused here and in the admin)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    # Kept beside the link so the row still says who it was if the account is deleted.
    actor_email = models.EmailField(_("actor's e-mail"), blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=50, blank=True)
    object_id = models.CharField(_("object id"), max_length=50, blank=True)
    object_repr = LineField(_("object"), max_length=200, blank=True)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    before = models.JSONField(_("before"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["authority", "-created_at"], name="audit_authority_created"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return _("%(actor)s: %(action)s, %(object)s") % {
            "actor": self.actor_email or _("the system"),
            "action": self.get_action_display(),
            "object": self.object_repr,
        }


class StatsKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    VERIFIED = "verified", _("Verified")
    FIXED = "fixed", _("Fixed")
    CLOSED = "closed", _("Closed")
    RESOLVED = "resolved", _("Fixed or closed")
    SUPPORTS = "supports", _("“Me too”s")


class StatsDay(models.Model):
    """How many reports of an authority and category reached a milestone on a local day.

    On PostgreSQL, database triggers on reports_report and reports_support keep it exact on every
    write, whoever makes it (reports.staff.stats_rollup has the SQL and the rebuild); the
    statistics page reads it instead of aggregating millions of reports. SQLite does not use it.
    """

    day = models.DateField()
    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=StatsKind.choices)
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("statistics day")
        verbose_name_plural = _("statistics days")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["day", "authority", "category", "kind"], name="statsday_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.authority_id}/{self.category_id} {self.kind}: {self.n}"


class MapCell(models.Model):
    """The public reports of one map grid cell, in one category and one state group: how many,
    and the sums their cluster's mean position (and a lone report's id) are read from.

    One row per grid zoom 0..18, cell (x, y) of that zoom's grid (reports.map.grid), category
    and state group (reports.map.rollup.STATE_GROUP: 1 open, 2 fixed, 3 any other public state);
    rows whose count reaches 0 are deleted. On PostgreSQL, statement-level triggers on
    reports_report keep it exact on every write, whoever makes it (reports.map.rollup has the
    SQL, the lock order and the rebuild); the map reads it for coarse grids instead of grouping
    millions of reports. SQLite does not use it.
    """

    pk = models.CompositePrimaryKey("zoom", "x", "y", "category", "state_group")
    zoom = models.SmallIntegerField()
    x = models.IntegerField()
    y = models.IntegerField()
    # No foreign key constraint: it would be checked on every new cell a filing starts, and a
    # category with reports cannot be deleted (Report.category protects it), so neither can
    # one with cells.
    category = models.ForeignKey(
        Category, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    state_group = models.SmallIntegerField()
    n = models.IntegerField()
    latitude_sum = models.FloatField()
    longitude_sum = models.FloatField()
    # The sum of the reports' ids: the id itself when the cell holds one report, and, unlike a
    # minimum, exact after any report leaves.
    id_sum = models.BigIntegerField()

    def __str__(self) -> str:
        return f"z{self.zoom} ({self.x}, {self.y}) {self.category_id}/{self.state_group}: {self.n}"


class SitePage(models.TextChoices):
    """Pages a site message can be limited to (none ticked: every page)."""

    HOME = "home", _("Home page (the map)")
    FILING = "filing", _("Filing a report")
    REPORT = "report", _("A report's page")
    AUTHORITY = "authority", _("An authority's performance page")


class MessageLevel(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")


class SiteMessage(models.Model):
    """A banner administrators publish for a time ("Storm damage: report fallen trees here"),
    optionally only on some pages or about places in one authority's area. Written through
    reports.site_messages (audited); read through its cached selector."""

    # A column per language (reports.translation): a language left empty shows the English.
    text = TextField(_("message"), max_length=500)
    level = models.CharField(
        _("level"), max_length=10, choices=MessageLevel.choices, default=MessageLevel.INFO
    )
    starts_at = models.DateTimeField(_("shown from"), default=timezone.now)
    ends_at = models.DateTimeField(_("shown until"))
    pages = models.JSONField(  # SitePage values: machine text
        _("pages"), default=list, blank=True, help_text=_("None ticked: every page.")
    )
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("only about places of"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="site_messages",
        help_text=_(
            "Shown only on pages about a place in this authority's area (filing there, its "
            "reports, its performance page). Empty: everywhere."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects: ClassVar[MultilingualManager[SiteMessage]] = MultilingualManager()

    class Meta:
        verbose_name = _("site message")
        verbose_name_plural = _("site messages")
        ordering: ClassVar = ["-starts_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="sitemessage_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.text[:60]

    def is_live(self, at: Any) -> bool:
        return self.starts_at <= at < self.ends_at
