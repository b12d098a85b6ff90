"""Admin for authorities and categories. Saves go through services so routing stays current."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin, TranslationStackedInline

from . import services
from .exceptions import InvalidBoundary
from .geometry import check_boundary
from .models import (
    AddressPoint,
    Area,
    Authority,
    AuthorityCategory,
    Category,
    CategoryQuestion,
    Place,
    RoutingVersion,
    StaffMembership,
    StaffRole,
    Street,
)


class ReadOnlyAdminMixin:
    """For records nobody edits by hand (history, logs, counters): shown, never added, changed
    or deleted in the admin. Put it before the ModelAdmin class."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuthorityScopedAdmin(admin.ModelAdmin):
    """Superusers see and change everything. Other staff see only rows of the authorities they
    work for (`authority_field` is the path from the row to its authority; empty: rows of every
    authority, for public reference data), change them only with a role in `change_roles`, and
    never add or delete unless `staff_may_add`. With `superuser_only`, staff see nothing."""

    authority_field = "authority"
    change_roles: frozenset[str] = frozenset()
    superuser_only = False
    staff_may_add = False

    def _memberships(self, request: HttpRequest) -> dict[int, str]:
        cached = getattr(request, "_fixpoint_memberships", None)
        if cached is None:
            rows = StaffMembership.objects.filter(user_id=cast(int, request.user.pk))
            cached = dict(rows.values_list("authority_id", "role"))
            request._fixpoint_memberships = cached  # type: ignore[attr-defined]
        return cast(dict[int, str], cached)

    def _is_super(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)

    def _staff(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and self._memberships(request))

    def _authority_of(self, obj: Any) -> int | None:
        if self.authority_field == "pk":
            return cast(int, obj.pk)
        for part in self.authority_field.split("__")[:-1]:
            obj = getattr(obj, part, None)
        return getattr(obj, f"{self.authority_field.split('__')[-1]}_id", None)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)
        if self._is_super(request):
            return rows
        if self.superuser_only or not self._staff(request):
            return rows.none()
        if not self.authority_field:
            return rows
        return rows.filter(**{f"{self.authority_field}__in": list(self._memberships(request))})

    def has_module_permission(self, request: HttpRequest) -> bool:
        if self._is_super(request):
            return True
        return not self.superuser_only and self._staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self.has_module_permission(request):
            return False
        if obj is None or self._is_super(request) or not self.authority_field:
            return True
        return self._authority_of(obj) in self._memberships(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if self._is_super(request):
            return True
        if self.superuser_only or not self.change_roles or not self._staff(request):
            return False
        roles = self._memberships(request)
        if obj is None:
            return any(role in self.change_roles for role in roles.values())
        return roles.get(self._authority_of(obj) or 0) in self.change_roles

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if self._is_super(request):
            return True
        return self.staff_may_add and self.has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_super(request)


class BoundaryCheckingForm(forms.ModelForm):
    """Shows why a pasted boundary is refused, instead of failing on save."""

    def clean_boundary(self) -> Any:
        boundary = self.cleaned_data.get("boundary")
        if boundary in (None, ""):
            return None
        try:
            checked = check_boundary(boundary)
        except InvalidBoundary as exc:
            raise forms.ValidationError(exc.message) from exc
        return checked.geojson


class AuthorityForm(BoundaryCheckingForm):
    # Declared to take "https" for an address typed without a scheme; the label stays the
    # model's (translated), which a declared field would otherwise replace with "Website".
    website = forms.URLField(
        label=capfirst(Authority._meta.get_field("website").verbose_name),
        required=False,
        assume_scheme="https",
    )

    class Meta:
        model = Authority
        fields = (
            "name",
            "slug",
            "kind",
            "parent",
            "code",
            "email",
            "phone",
            "website",
            "boundary",
            "is_active",
        )


class AreaForm(BoundaryCheckingForm):
    class Meta:
        model = Area
        fields = ("name", "slug", "kind", "code", "authority", "boundary")


class AuthorityCategoryInline(admin.TabularInline):
    model = AuthorityCategory
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    autocomplete_fields = ("category",)


class StaffMembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 0
    autocomplete_fields = ("user",)


class RoutingSavesThroughServices:
    """Admin saves and deletes of routing data bump the routing version via the services."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.routing_object_save(obj=obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.routing_object_delete(obj=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            services.routing_object_delete(obj=obj)


@admin.register(Authority)
class AuthorityAdmin(AuthorityScopedAdmin):
    authority_field = "pk"  # staff see the authorities they work for; only superusers edit
    form = AuthorityForm
    list_display = ("name", "slug", "kind", "parent", "code", "is_active", "category_count")
    list_filter = ("kind", "is_active", "parent")
    search_fields = ("name", "slug", "code", "email")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    inlines = (AuthorityCategoryInline, StaffMembershipInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Authority]:
        qs = super().get_queryset(request).select_related("parent")
        return qs.annotate(category_count=Count("handled"))

    @admin.display(description=_("categories"), ordering="category_count")
    def category_count(self, obj: Any) -> int:
        return int(obj.category_count)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.authority_save(authority=obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not StaffMembership:
            super().save_formset(request, form, formset, change)
            services.routing_changed()
            return
        # Members added here are made staff too, as everywhere else (the service does it).
        for membership in formset.save(commit=False):
            services.staff_membership_save(membership=membership)
        for removed in formset.deleted_objects:
            removed.delete()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.authority_delete(authority=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            services.authority_delete(authority=obj)
        messages.info(request, _("Routing will follow the deletion at the next request."))


class CategoryQuestionInline(TranslationStackedInline):
    model = CategoryQuestion
    extra = 0


@admin.register(Category)
class CategoryAdmin(RoutingSavesThroughServices, TranslationAdmin, AuthorityScopedAdmin):
    authority_field = ""  # public reference data: staff read every category
    list_display = ("name", "slug", "group", "colour", "is_active", "non_public", "order")
    list_filter = ("group", "is_active")
    search_fields = ("name", "slug", "group")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (CategoryQuestionInline,)


@admin.register(CategoryQuestion)
class CategoryQuestionAdmin(TranslationAdmin, AuthorityScopedAdmin):
    authority_field = ""
    list_display = ("label", "category", "code", "datatype", "required", "order")
    list_filter = ("datatype", "required", "category")
    search_fields = ("label", "code", "category__name")
    list_select_related = ("category",)


@admin.register(AuthorityCategory)
class AuthorityCategoryAdmin(RoutingSavesThroughServices, AuthorityScopedAdmin):
    # Holds API keys and webhook secrets: staff read only their own authority's. Its
    # administrators may change one thing, whether citizens' updates are sent to it.
    change_roles = frozenset({StaffRole.ADMINISTRATOR})
    list_display = (
        "category",
        "authority",
        "delivery_method",
        "email",
        "is_active",
        "send_updates",
    )
    list_filter = ("delivery_method", "is_active", "send_updates", "category__group", "authority")
    search_fields = ("category__name", "authority__name", "email")
    list_select_related = ("category", "authority")
    autocomplete_fields = ("authority", "category")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if self._is_super(request):
            return super().get_readonly_fields(request, obj)
        return [f.name for f in AuthorityCategory._meta.fields if f.name not in STAFF_EDITABLE]


# What an authority's administrators may change on its categories in the admin.
STAFF_EDITABLE = frozenset({"send_updates"})


@admin.register(StaffMembership)
class StaffMembershipAdmin(AuthorityScopedAdmin):
    list_display = ("user", "authority", "role", "created_at")
    list_filter = ("role", "authority")
    search_fields = ("user__email", "authority__name")
    list_select_related = ("user", "authority")
    autocomplete_fields = ("user", "authority")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.staff_membership_save(membership=obj)


@admin.register(Area)
class AreaAdmin(AuthorityScopedAdmin):
    authority_field = ""  # public place names
    form = AreaForm
    list_display = ("name", "slug", "kind", "code", "authority")
    list_filter = ("kind", "authority")
    search_fields = ("name", "slug", "code")
    list_select_related = ("authority",)
    readonly_fields = ("latitude", "longitude", "bbox")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.area_save(area=obj)


@admin.register(RoutingVersion)
class RoutingVersionAdmin(ReadOnlyAdminMixin, AuthorityScopedAdmin):
    superuser_only = True
    list_display = ("version", "changed_at")


# --- The gazetteer: loaded by manage.py import_addresses, shown here ---------------------------


@admin.register(Street)
class StreetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "city", "address_count")
    search_fields = ("name", "search_text")
    list_filter = ("city",)


@admin.register(AddressPoint)
class AddressPointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("street", "number", "unit", "postcode", "latitude", "longitude", "source")
    list_select_related = ("street",)
    search_fields = ("street__search_text", "number", "postcode")
    list_filter = ("source",)
    show_full_result_count = False  # a million rows: no COUNT(*) per page


@admin.register(Place)
class PlaceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "latitude", "longitude", "source")
    search_fields = ("name", "search_text")
    list_filter = ("kind", "source")
