"""Secrets stored encrypted at rest: destinations' webhook secrets and councils' API keys.

A column of an `EncryptedTextField` holds a Fernet token (AES-128-CBC with HMAC-SHA256, from the
`cryptography` package), never the text. The keys come from the environment, never from the
database: `FIELD_ENCRYPTION_KEYS` is a comma-separated list whose first key encrypts and whose
every key decrypts (cryptography's MultiFernet), so a key is rotated by putting a new one first,
running `manage.py reencrypt_secrets`, and then dropping the old one (docs/deployment.md).

On a model the attribute is a `Secret`: it prints as a mask everywhere (admin pages, templates,
logs, error reports) and gives its text only to `reveal()`, which is also where it is decrypted,
so loading a row needs no key and only the code that sends the secret can fail for a wrong one,
with an error that says so (`SecretUnreadable`), never an empty or wrong secret.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, transaction
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

MASK = "••••••••"


class SecretUnreadable(ImproperlyConfigured):
    """A stored secret none of FIELD_ENCRYPTION_KEYS decrypts: a key is missing or wrong."""


@lru_cache(maxsize=8)
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def keyring() -> MultiFernet:
    """Every configured key, the first one encrypting (read at each call: tests change it)."""
    return _keyring(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    return keyring().encrypt(text.encode()).decode("ascii")


def decrypt(token: str, *, what: str = "A stored secret") -> str:
    try:
        return keyring().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable(unreadable_message(what)) from exc


def unreadable_message(what: str) -> str:
    return (
        f"{what} cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS: the key it was "
        "encrypted with is missing or the setting is wrong. Add that key back (after the first), "
        "restart, and run `manage.py reencrypt_secrets` (see docs/deployment.md)."
    )


class Secret:
    """A secret as a model holds it: a token from the database and/or the text just given.

    It is true when a secret is stored, prints as a mask, and decrypts on `reveal()` only.
    """

    __slots__ = ("_text", "_token", "what")

    def __init__(
        self, *, text: str | None = None, token: str | None = None, what: str = ""
    ) -> None:
        self._text = text
        self._token = token
        self.what = what or "A stored secret"

    def reveal(self) -> str:
        """The secret's text, to send it. Raises SecretUnreadable for a wrong or missing key."""
        if self._text is None:
            self._text = decrypt(self._token or "", what=self.what) if self._token else ""
        return self._text

    def token(self) -> str:
        """What the column holds: "" for no secret, else a token under the current first key
        for a secret just given (a token read from the database is kept as it is)."""
        if self._token is None:
            self._token = encrypt(self._text) if self._text else ""
        return self._token

    def __bool__(self) -> bool:
        return bool(self._text if self._token is None else self._token)

    def __str__(self) -> str:
        return MASK if self else ""

    def __repr__(self) -> str:
        return f"<Secret {'stored' if self else 'empty'}>"

    def __eq__(self, other: object) -> bool:
        """The same secret: the same token as read from the database (no key needed), else the
        same text, compared in constant time."""
        if not isinstance(other, Secret):
            return NotImplemented
        if self._token is not None and self._token == other._token:
            return True
        return hmac.compare_digest(self.reveal().encode(), other.reveal().encode())

    __hash__ = None  # type: ignore[assignment]  # equal secrets may have different tokens


class SecretAttribute(models.query_utils.DeferredAttribute):
    """The model attribute: whatever is assigned (text or a Secret) is held as a Secret."""

    field: EncryptedTextField

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = self.field.to_python(value)


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token of the secret; the attribute is a `Secret`.

    `max_length` limits the secret's text, not the column (a token is about 4/3 longer plus
    about 100 characters). An empty secret is stored as "" so "is one set?" needs no key.
    """

    # What django-stubs' mypy plugin types the model attribute as (assigned, read): a Secret,
    # not the str of the TextField it extends, so forgetting .reveal() is a type error.
    _pyi_private_set_type: str | Secret  # type: ignore[assignment]
    _pyi_private_get_type: Secret  # type: ignore[assignment]

    descriptor_class = SecretAttribute

    def _what(self) -> str:
        return f"The secret in {self.model._meta.label}.{self.name}"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret:
        return Secret(token=value or "", what=self._what())

    def to_python(self, value: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        return Secret(text="" if value is None else str(value), what=self._what())

    def get_prep_value(self, value: Any) -> str:
        return self.to_python(value).token()

    def value_to_string(self, obj: models.Model) -> str:
        # dumpdata writes the text, so loaddata works under another deployment's keys.
        return self.to_python(self.value_from_object(obj)).reveal()

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        super().validate(value, model_instance)
        text = value._text if isinstance(value, Secret) else None  # only a secret just given
        if self.max_length is not None and text is not None and len(text) > self.max_length:
            raise ValidationError(
                _("At most %(limit)d characters."),
                code="max_length",
                params={"limit": self.max_length},
            )

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        if data is not KEEP:  # the form's input was left empty: the stored secret stays
            setattr(instance, self.name, data)

    def formfield(self, **kwargs: Any) -> forms.Field:
        return SecretFormField(
            label=kwargs.get("label", self.verbose_name),
            help_text=kwargs.get("help_text", self.help_text),
            max_length=self.max_length,
        )


# --- In forms (the admin): a write-only input ------------------------------------------------


KEEP = object()  # what the form field gives when the stored secret is to stay as it is


class SecretWidget(forms.MultiWidget):
    """A password input that never shows what is stored, and a box to remove it."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        widgets = (
            forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            forms.CheckboxInput(),
        )
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[Any]:
        return ["", False]  # the stored secret never goes back to the browser

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        stored = bool(value) and not isinstance(value, list)
        attrs = {**(attrs or {})}
        if stored:
            attrs.setdefault("placeholder", _("stored: type a new one to replace it"))
        text = self.widgets[0].render(
            f"{name}_0", "", {**attrs, "id": f"{attrs.get('id', name)}_0"}
        )
        if not stored:
            return text
        remove = self.widgets[1].render(f"{name}_1", False, {"id": f"{attrs.get('id', name)}_1"})
        return format_html(
            '{} <label for="{}_1">{} {}</label>', text, attrs.get("id", name), remove, _("remove")
        )


class SecretFormField(forms.MultiValueField):
    """Empty: keep the stored secret; text: replace it; "remove" ticked: no secret."""

    widget = SecretWidget

    def __init__(self, *, max_length: int | None = None, **kwargs: Any) -> None:
        fields = (
            forms.CharField(max_length=max_length, required=False),
            forms.BooleanField(required=False),
        )
        super().__init__(fields, require_all_fields=False, required=False, **kwargs)

    def compress(self, data_list: list[Any]) -> Any:
        text, remove = [*data_list, "", False][:2]
        if text:
            return text
        return "" if remove else KEEP

    def bound_data(self, data: Any, initial: Any) -> Any:
        return initial  # typed text is never shown again, even on a form with errors

    def has_changed(self, initial: Any, data: Any) -> bool:
        return any(data or ())


# --- Rotation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[models.Model]
    field: EncryptedTextField

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    def stored(self) -> Iterator[tuple[Any, Secret]]:
        rows = self.model._base_manager.exclude(**{self.field.name: ""}).order_by("pk")
        yield from rows.values_list("pk", self.field.name).iterator()


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column of every installed model: a new one is rotated without anyone
    remembering to add it."""
    return [
        EncryptedColumn(model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


@dataclass
class RotationSummary:
    reencrypted: int = 0
    changed_meanwhile: int = 0  # saved by someone else during the run (so under the new key)


def stored_secrets_reencrypt() -> RotationSummary:
    """Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS.

    One transaction: a secret no key decrypts raises SecretUnreadable and nothing is changed.
    Each row is written only if its token is still the one read, so a secret saved meanwhile
    (already under the first key) is never overwritten with the old one.
    """
    summary = RotationSummary()
    ring = keyring()
    with transaction.atomic():
        for column in encrypted_columns():
            for pk, secret in column.stored():
                try:
                    token = ring.rotate(secret.token().encode("ascii")).decode("ascii")
                except InvalidToken as exc:
                    raise SecretUnreadable(
                        unreadable_message(f"{column.label} of row {pk}")
                    ) from exc
                updated = column.model._base_manager.filter(
                    pk=pk, **{column.field.name: secret}
                ).update(**{column.field.name: Secret(token=token)})
                summary.reencrypted += updated
                summary.changed_meanwhile += 1 - updated
    return summary


def stored_secrets_not_current() -> dict[str, int]:
    """How many stored secrets per column are not under the first key (0 everywhere: the other
    keys may be removed from FIELD_ENCRYPTION_KEYS)."""
    first = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
    counts: dict[str, int] = {}
    for column in encrypted_columns():
        stale = 0
        for _pk, secret in column.stored():
            try:
                first.decrypt(secret.token().encode("ascii"))
            except InvalidToken:
                stale += 1
        counts[column.label] = stale
    return counts
