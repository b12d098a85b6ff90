from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .forms import UserCreationForm, UserEditForm
from .models import ApiClient, User
from .services import WriteKeyNeedsAccount, api_client_check_scope, api_client_create


class ApiClientForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            api_client_check_scope(
                scope=data.get("scope", ""),
                user=data.get("user"),
                files_for_citizens=bool(data.get("files_for_citizens")),
            )
        except WriteKeyNeedsAccount as exc:
            self.add_error("user" if data.get("scope") == "write" else "scope", exc.message)
        return data


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ("email",)
    list_display = ("email", "display_name", "is_staff", "is_superuser", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "display_name", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("display_name", "first_name", "last_name")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """A write key acts for an account (ApiClientForm refuses one without, as the database
    does); read keys may act for nobody."""

    form = ApiClientForm
    list_display = (
        "name",
        "prefix",
        "scope",
        "user",
        "files_for_citizens",
        "is_active",
        "created_at",
        "last_used_at",
    )
    list_filter = ("scope", "files_for_citizens", "is_active")
    search_fields = ("name", "prefix", "user__email")
    list_select_related = ("user",)
    readonly_fields = ("prefix", "created_at", "last_used_at")
    raw_id_fields = ("user",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("name", "scope", "user", "files_for_citizens")
        return (
            "name",
            "prefix",
            "scope",
            "user",
            "files_for_citizens",
            "is_active",
            "created_at",
            "last_used_at",
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            # Only the name, scope, user and active flag change here; the key never does.
            super().save_model(request, obj, form, change)
            return
        client, key = api_client_create(
            name=obj.name,
            scope=obj.scope,
            user=obj.user,
            files_for_citizens=obj.files_for_citizens,
        )
        obj.pk, obj.prefix = client.pk, client.prefix
        messages.warning(
            request,
            _("The key of %(client)s is %(key)s — copy it now: it is shown only once.")
            % {"client": client.name, "key": key},
        )
