"""Admin for reports. State changes go through the transition service; history is read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin

from accounts.admin import UserAdmin as BaseUserAdmin
from accounts.models import User
from authorities.admin import AuthorityScopedAdmin, ReadOnlyAdminMixin
from authorities.models import Authority
from authorities.permissions import PERMISSIONS
from config.errors import ApplicationError

from . import notifications, privacy, services, site_messages
from .audit import client_ip
from .models import (
    AuditEntry,
    Delivery,
    DeliveryStatus,
    Notification,
    Questionnaire,
    Report,
    ReportPhoto,
    ReportState,
    ReportStateChange,
    ReportUpdate,
    ResponseTemplate,
    SiteMessage,
    SitePage,
    StatusPoll,
    Subscription,
    Support,
    UpdateDelivery,
)
from .notes import NOTE_MAX_LENGTH
from .selectors import find_duplicate_original
from .staff import services as staff_services


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HistoryInline(ReadOnlyInline):
    model = ReportStateChange
    fields = (
        "created_at",
        "from_state",
        "to_state",
        "actor",
        "actor_kind",
        "public_note",
        "internal_note",
    )
    readonly_fields = fields


class UpdateInline(ReadOnlyInline):
    model = ReportUpdate
    fields = ("created_at", "author", "author_name", "opinion", "text", "is_hidden")
    readonly_fields = fields


class PhotoInline(ReadOnlyInline):
    model = ReportPhoto
    fields = ("image", "width", "height", "is_hidden", "created_at")
    readonly_fields = fields


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = (
        "authority",
        "method",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "remote_id",
        "sent_at",
    )
    readonly_fields = fields
    show_change_link = True


class UpdateDeliveryInline(ReadOnlyInline):
    model = UpdateDelivery
    fields = ("event", "authority", "method", "status", "attempts", "last_error", "sent_at")
    readonly_fields = fields
    show_change_link = True


class TransitionForm(forms.Form):
    to_state = forms.ChoiceField(choices=ReportState.choices, label=_("New state"))
    public_note = forms.CharField(
        label=_("Public note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=NOTE_MAX_LENGTH,
    )
    internal_note = forms.CharField(
        label=_("Internal note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=NOTE_MAX_LENGTH,
    )
    duplicate_of = forms.CharField(
        label=_("Duplicate of"),
        required=False,
        help_text=_("Reference of the original report"),
    )


def _resend_each(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: Any,
    resend: Callable[[Any], object],
) -> int:
    """Resend each outbox row of the selection by hand (audited by the service): a refusal is
    shown and the others still go. Returns how many were queued."""
    done = 0
    for obj in queryset:
        try:
            resend(obj)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            model_admin.log_change(request, obj, "Resent by hand.")
            done += 1
    return done


@admin.register(Report)
class ReportAdmin(AuthorityScopedAdmin):
    change_roles = PERMISSIONS["transition"]  # the change page only moves reports (a service)
    list_display = ("ref", "title", "category", "authority", "state", "created_at")
    list_filter = ("state", "is_private", "category__group", "category", "authority")
    search_fields = ("ref", "title", "description", "reporter__email", "reporter_email")
    list_select_related = ("category", "authority")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Report._meta.fields]
    inlines = (HistoryInline, UpdateInline, PhotoInline, DeliveryInline, UpdateDeliveryInline)
    change_form_template = "admin/reports/report/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports are filed on the site or through the API, with routing

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # closing outcomes (spam, duplicate) keep the record

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        form = TransitionForm(request.POST or None)
        # Looked up in the user's scope first: another authority's report is "not found".
        obj = self.get_object(request, object_id)
        allowed = obj is not None and self.has_change_permission(request, obj)
        if request.method == "POST" and "_transition" in request.POST:
            if not allowed:
                return super().change_view(request, object_id, form_url, extra_context)
            if form.is_valid():
                return self._transition(request, object_id, form)
        extra_context = {**(extra_context or {}), "transition_form": form}
        return super().change_view(request, object_id, form_url, extra_context)

    def _transition(self, request: HttpRequest, object_id: str, form: TransitionForm) -> Any:
        data = form.cleaned_data
        try:
            original = None
            if data["to_state"] == ReportState.DUPLICATE and data["duplicate_of"].strip():
                original = find_duplicate_original(request.user, data["duplicate_of"])
            services.report_transition(
                report_id=int(object_id),
                to_state=data["to_state"],
                actor=request.user,  # type: ignore[arg-type]
                public_note=data["public_note"],
                internal_note=data["internal_note"],
                duplicate_of_id=original.pk if original else None,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Moved to %(state)s.") % {"state": ReportState(data["to_state"]).label}
            )
        return HttpResponseRedirect(request.path)


@admin.register(ReportStateChange)
class ReportStateChangeAdmin(ReadOnlyAdminMixin, AuthorityScopedAdmin):
    authority_field = "report__authority"
    list_display = ("report", "from_state", "to_state", "actor", "actor_kind", "created_at")
    list_filter = ("to_state", "actor_kind")
    search_fields = ("report__ref", "public_note", "internal_note", "actor__email")
    list_select_related = ("report", "actor")


@admin.register(ReportUpdate)
class ReportUpdateAdmin(AuthorityScopedAdmin):
    authority_field = "report__authority"  # staff read; they moderate on the staff work page
    list_display = ("report", "author", "opinion", "is_hidden", "created_at")
    list_filter = ("opinion", "is_hidden")
    search_fields = ("report__ref", "text", "author__email")
    list_select_related = ("report", "author")
    readonly_fields = ("report", "author", "author_name", "text", "opinion", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Questionnaire)
class QuestionnaireAdmin(ReadOnlyAdminMixin, AuthorityScopedAdmin):
    authority_field = "report__authority"  # the answers are public on the report's page
    list_display = ("report", "sent_at", "state_when_sent", "answer", "answered_at")
    list_filter = ("answer", "state_when_sent")
    search_fields = ("report__ref", "comment")
    list_select_related = ("report",)


@admin.register(ReportPhoto)
class ReportPhotoAdmin(AuthorityScopedAdmin):
    authority_field = "report__authority"
    list_display = ("report", "width", "height", "is_hidden", "created_at")
    list_filter = ("is_hidden",)
    search_fields = ("report__ref",)
    list_select_related = ("report",)
    readonly_fields = ("report", "image", "width", "height", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Support)
class SupportAdmin(AuthorityScopedAdmin):
    authority_field = "report__authority"
    list_display = ("report", "user", "email", "created_at")
    search_fields = ("report__ref", "user__email", "email")
    list_select_related = ("report", "user")
    readonly_fields = ("report", "user", "email", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(AuthorityScopedAdmin):
    superuser_only = True  # citizens' addresses, mostly not tied to one authority
    list_display = ("email", "kind", "frequency", "is_confirmed", "unsubscribed_at", "created_at")
    list_filter = ("kind", "frequency", "is_confirmed")
    search_fields = ("email", "report__ref", "area__name", "authority__name")
    list_select_related = ("report", "area", "authority")
    readonly_fields = ("created_at",)
    raw_id_fields = ("report", "user")


@admin.register(Notification)
class NotificationAdmin(AuthorityScopedAdmin):
    superuser_only = True
    list_display = ("to_email", "kind", "subject", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("to_email", "subject", "report__ref")
    list_select_related = ("report",)
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ("send_now",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Send the selected pending e-mails now"))
    def send_now(self, request: HttpRequest, queryset: Any) -> None:
        sent = sum(
            notifications.notification_send(notification_id=pk)
            for pk in queryset.filter(status="pending").values_list("pk", flat=True)
        )
        messages.info(
            request, ngettext("%(n)d e-mail sent.", "%(n)d e-mails sent.", sent) % {"n": sent}
        )


@admin.register(Delivery)
class DeliveryAdmin(AuthorityScopedAdmin):
    authority_field = "report__authority"
    change_roles = PERMISSIONS["resend"]  # the actions; every field is read-only
    list_display = (
        "report",
        "authority",
        "category",
        "method",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "method", "authority")
    search_fields = ("report__ref", "remote_id", "last_error")
    list_select_related = ("report", "authority", "category")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ("resend", "mark_as_sent")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by the outbox when a report becomes open

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record that a report reached (or did not reach) its authority

    @admin.action(description=_("Resend the selected failed or waiting deliveries now"))
    def resend(self, request: HttpRequest, queryset: Any) -> None:
        done = _resend_each(
            self,
            request,
            queryset,
            lambda obj: staff_services.delivery_resend_by_staff(
                delivery_id=obj.pk,
                actor=request.user,  # type: ignore[arg-type]
            ),
        )
        queued = ngettext(
            "%(n)d delivery queued to be sent again.",
            "%(n)d deliveries queued to be sent again.",
            done,
        )
        messages.info(request, queued % {"n": done})

    @admin.action(description=_("Mark the selected deliveries as sent (delivered by other means)"))
    def mark_as_sent(self, request: HttpRequest, queryset: Any) -> None:
        pending = queryset.exclude(status=DeliveryStatus.SENT)
        for obj in pending:
            staff_services.delivery_mark_sent_by_staff(
                delivery_id=obj.pk,
                actor=request.user,  # type: ignore[arg-type]
            )
            self.log_change(request, obj, "Marked as sent by hand.")
        marked = ngettext(
            "%(n)d delivery marked as sent.", "%(n)d deliveries marked as sent.", len(pending)
        )
        messages.info(request, marked % {"n": len(pending)})


@admin.register(UpdateDelivery)
class UpdateDeliveryAdmin(AuthorityScopedAdmin):
    """Citizens' updates sent to authorities (reports.delivery.council_updates)."""

    change_roles = PERMISSIONS["resend"]  # the action; every field is read-only
    list_display = (
        "report",
        "event",
        "authority",
        "method",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "event", "method", "authority")
    search_fields = ("report__ref", "remote_id", "last_error")
    list_select_related = ("report", "authority")
    readonly_fields = [f.name for f in UpdateDelivery._meta.fields]
    actions = ("resend",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by the outbox when a citizen updates a report

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of what the authority was told

    @admin.action(description=_("Resend the selected failed or waiting updates now"))
    def resend(self, request: HttpRequest, queryset: Any) -> None:
        done = _resend_each(
            self,
            request,
            queryset,
            lambda obj: staff_services.update_delivery_resend_by_staff(
                update_delivery_id=obj.pk,
                actor=request.user,  # type: ignore[arg-type]
            ),
        )
        queued = ngettext(
            "%(n)d update queued to be sent again.",
            "%(n)d updates queued to be sent again.",
            done,
        )
        messages.info(request, queued % {"n": done})


@admin.register(StatusPoll)
class StatusPollAdmin(AuthorityScopedAdmin):
    superuser_only = True
    """When each Open311 destination was last asked for status changes, and why it failed."""

    list_display = ("destination", "polled_at", "attempted_at", "last_error")
    list_select_related = ("destination__authority", "destination__category")
    readonly_fields = ("destination", "polled_at", "attempted_at", "last_error")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # written by the poll (reports.delivery.status_sync)


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(TranslationAdmin, AuthorityScopedAdmin):
    """Administrators of an authority keep its response templates; templates for every
    authority (no authority set) are kept by superusers and offered to all."""

    list_display = ("title", "authority", "category", "state", "is_active")
    list_filter = ("state", "is_active", "category", "authority")
    search_fields = ("title", "text")
    list_select_related = ("authority", "category")
    change_roles = PERMISSIONS["templates"]
    staff_may_add = True

    def get_queryset(self, request: HttpRequest) -> Any:
        if self._is_super(request) or not self._staff(request):
            return super().get_queryset(request)
        mine = list(self._memberships(request))
        rows = ResponseTemplate.objects.select_related("authority", "category")
        return rows.filter(Q(authority__in=mine) | Q(authority__isnull=True))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.authority_id is None:
            return self.has_module_permission(request)
        return super().has_view_permission(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "authority" and not self._is_super(request):
            templates = self.change_roles
            mine = [a for a, role in self._memberships(request).items() if role in templates]
            kwargs["queryset"] = Authority.objects.filter(pk__in=mine).defer("boundary")
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        staff_services.response_template_save(template=obj, actor=request.user)  # type: ignore[arg-type]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, AuthorityScopedAdmin):
    """The audit log, for superusers and administrators of the authority. Nobody adds, edits or
    deletes a row here (and the model refuses it anywhere in the application)."""

    list_display = ("created_at", "actor_email", "action", "object_repr", "authority")
    list_filter = ("action", "authority")
    search_fields = ("actor_email", "object_repr", "object_id")
    list_select_related = ("authority",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def get_queryset(self, request: HttpRequest) -> Any:
        if self._is_super(request):
            return super().get_queryset(request)
        audited = [a for a, role in self._memberships(request).items() if role in self._may]
        return AuditEntry.objects.select_related("authority").filter(authority__in=audited)

    @property
    def _may(self) -> frozenset[str]:
        return PERMISSIONS["audit"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        if self._is_super(request):
            return True
        return self._staff(request) and any(
            role in self._may for role in self._memberships(request).values()
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self.has_module_permission(request):
            return False
        if obj is None or self._is_super(request):
            return True
        return self._memberships(request).get(obj.authority_id) in self._may


class SiteMessageForm(forms.ModelForm):
    """The message in each language (django-modeltranslation's columns) and the pages as ticks
    (stored as JSON); the service's checks are the form's."""

    pages = forms.MultipleChoiceField(
        label=_("Only on these pages"),
        choices=SitePage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every page."),
    )

    class Meta:
        model = SiteMessage
        fields = ("text", "level", "starts_at", "ends_at", "pages", "authority")

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # the stubs omit it; instance is built here
        try:
            site_messages.site_message_check(self.instance)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                field = "text_en" if field == "text" else field  # the English box, below
                self.add_error(field if field in self.fields else None, errors)


@admin.register(SiteMessage)
class SiteMessageAdmin(TranslationAdmin, AuthorityScopedAdmin):
    """Site administrators publish banners; every change is audited (reports.site_messages)."""

    superuser_only = True
    form = SiteMessageForm
    list_display = ("__str__", "level", "starts_at", "ends_at", "authority", "is_live_now")
    list_filter = ("level", "authority")
    search_fields = ("text",)
    date_hierarchy = "starts_at"

    @admin.display(boolean=True, description=_("shown now"))
    def is_live_now(self, obj: SiteMessage) -> bool:
        return obj.is_live(timezone.now())

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        site_messages.site_message_save(message=obj, actor=cast(User, request.user))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        site_messages.site_message_delete(message=obj, actor=cast(User, request.user))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for message in queryset:
            site_messages.site_message_delete(message=message, actor=cast(User, request.user))


# --- Account care: the accounts admin with its actions (reports.privacy) ----------------------
# Registered here, not in accounts, because the services are reports' (accounts imports no app).


class BanForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the ban"), max_length=500)


admin.site.unregister(User)


@admin.register(User)
class CitizenUserAdmin(BaseUserAdmin):
    list_display = (*BaseUserAdmin.list_display, "banned_at", "erased_at")  # type: ignore[assignment]
    list_filter = (  # type: ignore[assignment]
        *BaseUserAdmin.list_filter,
        ("banned_at", admin.EmptyFieldListFilter),
    )
    readonly_fields = ("banned_at", "ban_reason", "erased_at", "inactivity_warned_at")
    fieldsets = (  # type: ignore[assignment]
        *BaseUserAdmin.fieldsets,
        (_("Account care"), {"fields": readonly_fields}),
    )
    actions = ("ban", "unban", "anonymise_everywhere", "remove_account")

    @admin.action(description=_("Ban the selected accounts (asks for a reason)"))
    def ban(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        form = BanForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "form": form,
                "users": queryset,
                "action": "ban",
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/accounts/ban_confirm.html", context)
        done = self._each(
            request, queryset, privacy.account_ban, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("%(n)s accounts banned.") % {"n": done})
        return None

    @admin.action(description=_("Lift the ban on the selected accounts"))
    def unban(self, request: HttpRequest, queryset: Any) -> None:
        done = self._each(request, queryset, privacy.account_unban)
        messages.success(request, _("%(n)s accounts may log in and file again.") % {"n": done})

    @admin.action(description=_("Anonymise the selected people everywhere (hide their names)"))
    def anonymise_everywhere(self, request: HttpRequest, queryset: Any) -> None:
        done = self._each(request, queryset, privacy.account_anonymise)
        messages.success(
            request, _("%(n)s people anonymised on everything they posted.") % {"n": done}
        )

    @admin.action(description=_("Remove the selected accounts (erase their personal data)"))
    def remove_account(self, request: HttpRequest, queryset: Any) -> None:
        done = self._each(request, queryset, privacy.account_delete, reason="removed by an admin")
        messages.success(
            request, _("%(n)s accounts removed; their reports stay, anonymous.") % {"n": done}
        )

    def _each(self, request: HttpRequest, queryset: Any, service: Any, **kwargs: Any) -> int:
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                service(user_id=pk, actor=request.user, ip=client_ip(request), **kwargs)
            except (ApplicationError, ValidationError) as exc:
                messages.error(
                    request, _("Account %(id)s: %(error)s") % {"id": pk, "error": _error_text(exc)}
                )
            else:
                done += 1
        return done


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)
