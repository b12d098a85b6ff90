"""Every field, model and choice of Fixpoint's apps has a label people read in their language.

The admin names a field by its verbose_name. Without one Django makes it up from the field's
name ("created_at" -> "Created at"), in English on a Catalan or Spanish admin; a plain string
stays English too. So each needs a lazy translation (`_("created")` with gettext_lazy), like its
help text and its choices; the catalogue tests then make sure it is translated.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.test.utils import isolate_apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

APPS = ("accounts", "authorities", "reports", "gamification")

# Tables no person reads: no admin page (checked below), no form, no page shows their fields.
MACHINE_MODELS = {
    "accounts.IdempotencyKey",  # the stored answer to a repeated API write, kept 24 hours
    "reports.StatsDay",  # the statistics page's daily counts, kept by database triggers
    "reports.MapCell",  # the map's counts per grid cell, kept by database triggers
}


def _label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def _fixpoint_models() -> list[type[models.Model]]:
    return [m for app in APPS for m in apps.get_app_config(app).get_models()]


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    # Inherited ones too (AbstractUser's, an abstract outbox row's); not the automatic "id".
    forward = [*model._meta.fields, *model._meta.many_to_many]
    return [f for f in forward if not f.auto_created]


def _is_lazy(text: object) -> bool:
    return isinstance(text, Promise)


def _field_problems(field: models.Field[Any, Any]) -> list[str]:
    name = f"{_label(field.model)}.{field.name}"
    problems = []
    # Django keeps what was passed in _verbose_name (None when nothing was) and fills
    # verbose_name from the field's name.
    given = getattr(field, "_verbose_name", None)
    if not _is_lazy(given):
        problems.append(f"{name}: verbose_name {given!r} is not gettext_lazy")
    if field.help_text and not _is_lazy(field.help_text):
        problems.append(f"{name}: help_text {field.help_text!r} is not gettext_lazy")
    # settings.LANGUAGES name each language in itself ("Català"), as the switcher does.
    if field.choices and list(field.choices) != list(settings.LANGUAGES):
        plain = [label for _value, label in field.flatchoices if not _is_lazy(label)]
        if plain:
            problems.append(f"{name}: choices {plain!r} are not gettext_lazy")
    return problems


def _model_problems(model: type[models.Model]) -> list[str]:
    # Without its own plural Django adds an "s" to the English name ("categorys").
    given = model._meta.original_attrs
    return [
        f"{_label(model)}: Meta.{option} is missing or not gettext_lazy"
        for option in ("verbose_name", "verbose_name_plural")
        if not _is_lazy(given.get(option))
    ]


def test_every_field_and_model_of_fixpoints_apps_has_a_translated_label() -> None:
    problems = []
    for model in _fixpoint_models():
        if _label(model) in MACHINE_MODELS:
            continue
        problems += _model_problems(model)
        for field in _fields(model):
            problems += _field_problems(field)
    assert problems == [], "give each a verbose_name=_(...) (gettext_lazy), then make messages"


def test_the_tables_left_unlabelled_exist_and_have_no_admin_page() -> None:
    found = {_label(m): m for m in _fixpoint_models()}
    assert MACHINE_MODELS.issubset(found)
    assert [name for name in MACHINE_MODELS if found[name] in admin.site._registry] == []


@isolate_apps("reports")
def test_a_field_without_a_label_or_with_an_untranslated_one_is_reported() -> None:
    class Unlabelled(models.Model):  # noqa: DJ008 (thrown away after the test)
        count = models.IntegerField(default=0)
        note = models.CharField("note", max_length=10, help_text="Plain text.")
        size = models.CharField(_("size"), max_length=1, choices=[("s", "Small")])
        fine = models.CharField(_("fine"), max_length=1, help_text=_("Translated."))

        class Meta:
            app_label = "reports"
            verbose_name = _("unlabelled")

    problems = [p for f in _fields(Unlabelled) for p in _field_problems(f)]

    assert problems == [
        "reports.Unlabelled.count: verbose_name None is not gettext_lazy",
        "reports.Unlabelled.note: verbose_name 'note' is not gettext_lazy",
        "reports.Unlabelled.note: help_text 'Plain text.' is not gettext_lazy",
        "reports.Unlabelled.size: choices ['Small'] are not gettext_lazy",
    ]
    assert _model_problems(Unlabelled) == [
        "reports.Unlabelled: Meta.verbose_name_plural is missing or not gettext_lazy"
    ]
