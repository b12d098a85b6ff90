"""People's text as Fixpoint stores it: one rule, applied by the model fields that hold it.

Every text that enters Fixpoint (titles, descriptions, updates, names, answers, notes,
templates, whatever the way in: a form, the API, Open311, the admin, a command) is stored as:

- Unicode NFC (the same word is the same characters, whichever keyboard typed it);
- without control characters (C0 and C1, DEL) other than tab and newline, without lone
  surrogates and without U+FFFE/U+FFFF: none has a meaning in a report, and each broke something
  (invalid XML for every Open311 client, an Atom feed that could not be written, a NUL that
  PostgreSQL refuses); a carriage return becomes a newline;
- a title or a name on one line: line breaks and tabs become one space, and the ends are
  trimmed (a line break in a title became a line break in an e-mail subject, which Django refuses
  to send).

`LineField`, `TextField` and `JSONField` (for answers) apply it whenever a value is saved, by
`save()`, `QuerySet.update()` or `bulk_create()`, so a new service cannot forget it; their form
fields apply it before validating, so a length limit counts what will be stored. They deconstruct
as Django's own fields: the rule changes no column, so it needs no schema migration. Each app's
data migration `00xx_clean_text` cleans the rows stored before the rule (`clean_stored_rows`).

For output, `xml_safe` and `header_safe` are the second line of defence (a row written by raw
SQL, a value from somewhere else): XML and e-mail headers never see what they cannot carry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from django import forms
from django.db import models

# C0 and C1 controls (tab and newline excepted; CR is handled first), DEL, lone surrogates and
# the two non-characters XML 1.0 refuses.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BREAKS = re.compile(r"\s*[\n\t\v\f\u2028\u2029]\s*")
# What XML 1.0 cannot carry at all (controls it allows, tab, newline and CR, are kept).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str, max_length: int | None = None) -> str:
    """Text of several lines: NFC, newlines for CR LF and CR, no other controls."""
    text = _UNWANTED.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return _nfc(text, max_length)


def clean_line(value: str, max_length: int | None = None) -> str:
    """A title or a name: clean_text on one line, trimmed."""
    return _BREAKS.sub(" ", clean_text(value, max_length)).strip() if value else value


def clean_value(value: Any) -> Any:
    """Strings anywhere in a JSON value (keys too) as clean_text; anything else unchanged."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_value(item) for item in value]
    if isinstance(value, dict):
        return {clean_value(key): clean_value(item) for key, item in value.items()}
    return value


def _nfc(text: str, max_length: int | None) -> str:
    """NFC, unless that makes the text longer than the column: composing never lengthens text,
    but a few characters (U+0958 and other composition exclusions) decompose to two."""
    normal = unicodedata.normalize("NFC", text)
    return text if max_length is not None and len(normal) > max_length else normal


def xml_safe(value: str) -> str:
    """`value` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", value)


def header_safe(value: str) -> str:
    """`value` on one line, fit for an e-mail header such as a subject."""
    return clean_line(value)


# --- the fields that apply it --------------------------------------------------------------------


class _Cleaning:
    """What the three fields share: clean on every save, and in their form fields."""

    clean_stored: Callable[[Any], Any]  # each field's own rule (TextField, LineField, JSONField)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = self.clean_stored(super().pre_save(model_instance, add))  # type: ignore[misc]
        setattr(model_instance, self.attname, value)  # type: ignore[attr-defined]
        return value

    def get_prep_value(self, value: Any) -> Any:  # QuerySet.update() and lookups
        return super().get_prep_value(self.clean_stored(value))  # type: ignore[misc]

    def deconstruct(self) -> Any:
        # The rule changes no column: migrations see Django's field (see the module docstring).
        name, _, args, kwargs = super().deconstruct()  # type: ignore[misc]
        return name, self._django_path, args, kwargs

    _django_path = ""


class LineField(_Cleaning, models.CharField):
    """A title or a name: one line (config.text.clean_line)."""

    _django_path = "django.db.models.CharField"

    def clean_stored(self, value: Any) -> Any:
        return clean_line(value, self.max_length) if isinstance(value, str) else value

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": LineFormField, **kwargs})


class TextField(_Cleaning, models.TextField):
    """Text of several lines (config.text.clean_text)."""

    _django_path = "django.db.models.TextField"

    def clean_stored(self, value: Any) -> Any:
        return clean_text(value) if isinstance(value, str) else value

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": TextFormField, **kwargs})


class JSONField(_Cleaning, models.JSONField):
    """JSON whose strings are people's text (answers to questions, choices)."""

    _django_path = "django.db.models.JSONField"

    def clean_stored(self, value: Any) -> Any:
        return clean_value(value)


class LineFormField(forms.CharField):
    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return clean_line(value) if isinstance(value, str) else value


class TextFormField(forms.CharField):
    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return clean_text(value) if isinstance(value, str) else value


# --- rows stored before the rule -----------------------------------------------------------------


def clean_stored_rows(
    model: type[models.Model],
    *,
    lines: tuple[str, ...] = (),
    texts: tuple[str, ...] = (),
    values: tuple[str, ...] = (),
    batch: int = 2000,
) -> int:
    """Clean the given fields of every row of `model` (a migration's historical model), a batch
    of rows at a time by primary key; only changed rows are written. Returns how many."""
    fields = (*lines, *texts, *values)
    lengths = {name: getattr(model._meta.get_field(name), "max_length", None) for name in lines}
    changed = 0
    last: Any = None
    while True:
        rows = model._default_manager.order_by("pk")
        if last is not None:
            rows = rows.filter(pk__gt=last)
        page = list(rows.values_list("pk", *fields)[:batch])
        if not page:
            return changed
        for pk, *stored in page:
            updates = {}
            for name, value in zip(fields, stored, strict=True):
                new = _clean_one(name, value, lines, texts, lengths)
                if new != value:
                    updates[name] = new
            if updates:
                model._default_manager.filter(pk=pk).update(**updates)
                changed += 1
        last = page[-1][0]


def _clean_one(
    name: str,
    value: Any,
    lines: tuple[str, ...],
    texts: tuple[str, ...],
    lengths: dict[str, int | None],
) -> Any:
    if name in lines:
        return clean_line(value, lengths[name]) if isinstance(value, str) else value
    if name in texts:
        return clean_text(value) if isinstance(value, str) else value
    return clean_value(value)
