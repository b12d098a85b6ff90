"""Destination secrets (Open311 API keys, webhook secrets) are encrypted at rest, printed as a mask,
rotated to a new key by a command, and a wrong key is a clear error, never an empty secret."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from authorities.models import AuthorityCategory, DeliveryMethod, StaffRole
from config.encryption import MASK, Secret, SecretUnreadable, encrypted_columns
from tests import factories

OLD = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW = base64.urlsafe_b64encode(b"n" * 32).decode()
API_KEY = "council-api-key-3f9a"
HOOK_SECRET = "shared-webhook-secret-77c1"


def raw_columns(link: AuthorityCategory) -> tuple[str, str]:
    """What the database holds, read past the model."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key, webhook_secret FROM authorities_authoritycategory WHERE id = %s",
            [link.pk],
        )
        row = cursor.fetchone()
    return row[0], row[1]


def link_of(city: Any) -> AuthorityCategory:
    return AuthorityCategory.objects.get(authority=city.west, category=city.pothole)


@pytest.fixture
def destination(tiny_city: Any) -> AuthorityCategory:
    link = link_of(tiny_city)
    link.delivery_method = DeliveryMethod.OPEN311
    link.endpoint_url = "https://council.example.org/open311/v2/"
    link.api_key = API_KEY
    link.webhook_secret = HOOK_SECRET
    link.save()
    return link


def test_the_database_holds_tokens_never_the_secrets_text(destination, settings):
    api_key, webhook_secret = raw_columns(destination)

    assert API_KEY not in api_key and HOOK_SECRET not in webhook_secret
    fernet = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
    assert fernet.decrypt(api_key.encode()).decode() == API_KEY
    assert fernet.decrypt(webhook_secret.encode()).decode() == HOOK_SECRET


def test_secrets_written_by_a_queryset_update_are_encrypted_too(tiny_city):
    AuthorityCategory.objects.filter(pk=link_of(tiny_city).pk).update(api_key=API_KEY)

    assert API_KEY not in raw_columns(link_of(tiny_city))[0]
    assert link_of(tiny_city).api_key.reveal() == API_KEY


def test_a_loaded_secret_prints_as_a_mask_and_only_reveal_gives_its_text(destination):
    secret = AuthorityCategory.objects.get(pk=destination.pk).api_key

    assert isinstance(secret, Secret)
    assert str(secret) == f"{secret}" == MASK
    assert API_KEY not in repr(secret)
    assert secret.reveal() == API_KEY


def test_no_secret_is_stored_as_an_empty_column_and_needs_no_key(tiny_city, settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # not the key anything was written with

    link = link_of(tiny_city)

    assert raw_columns(link) == ("", "")
    assert not link.api_key and link.api_key.reveal() == ""


def test_a_secret_no_configured_key_decrypts_is_a_clear_error_not_an_empty_secret(
    destination, settings
):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    link = AuthorityCategory.objects.get(pk=destination.pk)  # loading needs no key

    with pytest.raises(SecretUnreadable) as caught:
        link.api_key.reveal()

    message = str(caught.value)
    assert "authorities.AuthorityCategory.api_key" in message
    assert "FIELD_ENCRYPTION_KEYS" in message and "reencrypt_secrets" in message


def test_a_secret_longer_than_its_limit_is_refused_by_validation(tiny_city):
    link = link_of(tiny_city)
    link.webhook_secret = "x" * 201

    with pytest.raises(Exception, match="At most 200 characters"):
        link.full_clean()


# --- Rotation ------------------------------------------------------------------------------------


def test_reencrypt_secrets_moves_every_secret_to_the_first_key_so_the_old_one_can_go(
    tiny_city, settings, capsys
):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    links = list(AuthorityCategory.objects.order_by("pk"))
    for n, link in enumerate(links):
        AuthorityCategory.objects.filter(pk=link.pk).update(api_key=f"key-{n}")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    with pytest.raises(CommandError, match="still need an older key"):
        call_command("reencrypt_secrets", "--check")

    call_command("reencrypt_secrets")

    assert f"Re-encrypted {len(links)} secrets" in capsys.readouterr().out
    call_command("reencrypt_secrets", "--check")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    for n, link in enumerate(AuthorityCategory.objects.order_by("pk")):
        assert link.api_key.reveal() == f"key-{n}"
        assert Fernet(NEW).decrypt(raw_columns(link)[0].encode()) == f"key-{n}".encode()


def test_reencrypt_secrets_with_a_key_missing_changes_nothing_and_names_the_secret(
    destination, settings
):
    before = raw_columns(destination)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]

    with pytest.raises(CommandError) as caught:
        call_command("reencrypt_secrets")

    assert "Nothing was changed" in str(caught.value)
    assert f"authorities.AuthorityCategory.api_key of row {destination.pk}" in str(caught.value)
    assert raw_columns(destination) == before


def test_a_secret_saved_during_a_rotation_is_not_overwritten_with_the_old_one(
    destination, settings, monkeypatch
):
    from config import encryption

    settings.FIELD_ENCRYPTION_KEYS = [NEW, settings.FIELD_ENCRYPTION_KEYS[0]]
    real_stored = encryption.EncryptedColumn.stored

    def stored_then_saved_elsewhere(column: Any) -> Any:
        rows = list(real_stored(column))
        AuthorityCategory.objects.filter(pk=destination.pk).update(**{column.field.name: "fresh"})
        return iter(rows)

    monkeypatch.setattr(encryption.EncryptedColumn, "stored", stored_then_saved_elsewhere)

    summary = encryption.stored_secrets_reencrypt()

    assert summary.changed_meanwhile == 2 and summary.reencrypted == 0
    link = AuthorityCategory.objects.get(pk=destination.pk)
    assert link.api_key.reveal() == link.webhook_secret.reveal() == "fresh"


def test_every_encrypted_column_of_every_model_is_found_for_rotation():
    labels = {column.label for column in encrypted_columns()}

    assert {
        "authorities.AuthorityCategory.api_key",
        "authorities.AuthorityCategory.webhook_secret",
    } <= labels


# Text columns whose names say "secret" that are not encrypted, each with the reason.
NOT_ENCRYPTED = {
    "accounts.User.password": "a salted hash (Django's password hashers)",
    "accounts.ApiClient.key_hash": "a SHA-256 hash of the key; the key is shown once",
    "reports.ReportPhoto.upload_token": "looked up by value; ties a photo to one form for a day",
}


def test_every_column_named_like_a_secret_is_encrypted_or_hashed():
    secretish = ("secret", "api_key", "password", "token", "key_hash", "private")
    found = set()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            label = f"{model._meta.label}.{field.name}"
            if field.get_internal_type() in ("CharField", "TextField") and any(
                word in field.name for word in secretish
            ):
                found.add(label)
    encrypted = {column.label for column in encrypted_columns()}

    assert found - encrypted <= set(NOT_ENCRYPTED), found - encrypted - set(NOT_ENCRYPTED)


# --- The migration -------------------------------------------------------------------------------

BEFORE = [("authorities", "0004_staff_sla")]
AFTER = [("authorities", "0005_encrypt_destination_secrets")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_stored_secrets_and_going_back_decrypts_them(tiny_city):
    link = link_of(tiny_city)
    try:
        old = _migrate(BEFORE).get_model("authorities", "AuthorityCategory")
        old.objects.filter(pk=link.pk).update(api_key=API_KEY, webhook_secret=HOOK_SECRET)

        # The model as of that migration: today's has columns added since.
        after = _migrate(AFTER).get_model("authorities", "AuthorityCategory")
        encrypted = raw_columns(link)
        revealed = after.objects.get(pk=link.pk)
        assert API_KEY not in encrypted[0] and HOOK_SECRET not in encrypted[1]
        assert revealed.api_key.reveal() == API_KEY
        assert revealed.webhook_secret.reveal() == HOOK_SECRET
        other = after.objects.exclude(pk=link.pk).first()
        assert other is not None and raw_columns(other) == ("", "")  # no secret stays empty

        _migrate(BEFORE)
        assert raw_columns(link) == (API_KEY, HOOK_SECRET)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


# --- The admin -----------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client: Client, tiny_city: Any) -> Client:
    client.force_login(factories.UserFactory.create(is_staff=True, is_superuser=True))
    return client


def _every_secret_set() -> set[str]:
    """Give every stored row of every encrypted column a distinct secret; return the texts and
    the tokens, none of which may reach a page."""
    shown: set[str] = set()
    for column in encrypted_columns():
        for pk in column.model._base_manager.values_list("pk", flat=True):
            text = f"plain-{column.field.name}-{pk}-{os.urandom(4).hex()}"
            column.model._base_manager.filter(pk=pk).update(**{column.field.name: text})
            token = column.model._base_manager.values_list(column.field.name, flat=True).get(pk=pk)
            shown |= {text, token.token()}
    return shown


def _admin_pages(client: Client) -> list[str]:
    from django.contrib import admin
    from django.urls import reverse

    pages = []
    for model, _model_admin in admin.site._registry.items():
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        for obj in model._default_manager.all()[:3]:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
    return pages


def test_no_admin_page_ever_sends_a_stored_secret_to_the_browser(superuser_client, tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    secrets = _every_secret_set()
    viewer = factories.staff(tiny_city.west, role=StaffRole.VIEWER)
    viewer_client = Client()
    viewer_client.force_login(viewer)

    for client in (superuser_client, viewer_client):
        for page in _admin_pages(superuser_client):
            response = client.get(page)
            assert response.status_code in (200, 302, 403), page
            html = response.content.decode()
            assert not [s for s in secrets if s in html], page


def test_the_view_only_admin_page_shows_that_a_secret_is_stored_as_a_mask(tiny_city, destination):
    viewer = factories.staff(tiny_city.west, role=StaffRole.VIEWER)
    client = Client()
    client.force_login(viewer)

    html = client.get(f"/admin/authorities/authoritycategory/{destination.pk}/change/").content

    assert MASK in html.decode()


def _change_form(link: AuthorityCategory, **secrets: str) -> dict[str, Any]:
    return {
        "authority": link.authority_id,
        "category": link.category_id,
        "delivery_method": link.delivery_method,
        "email": link.email,
        "is_active": "on",
        "endpoint_url": link.endpoint_url,
        "service_code": "",
        "jurisdiction_id": "",
        **secrets,
    }


def test_the_admin_form_keeps_a_secret_left_empty_replaces_a_typed_one_and_removes_on_request(
    superuser_client, destination
):
    url = f"/admin/authorities/authoritycategory/{destination.pk}/change/"
    form = superuser_client.get(url).content.decode()
    assert 'type="password" name="api_key_0"' in form and "stored" in form

    superuser_client.post(url, _change_form(destination, api_key_0="", webhook_secret_0=""))
    link = AuthorityCategory.objects.get(pk=destination.pk)
    assert (link.api_key.reveal(), link.webhook_secret.reveal()) == (API_KEY, HOOK_SECRET)

    superuser_client.post(url, _change_form(destination, api_key_0="new-key"))
    assert AuthorityCategory.objects.get(pk=destination.pk).api_key.reveal() == "new-key"

    response = superuser_client.post(url, _change_form(destination, webhook_secret_1="on"))
    assert response.status_code == 302
    link = AuthorityCategory.objects.get(pk=destination.pk)
    assert (link.api_key.reveal(), link.webhook_secret.reveal()) == ("new-key", "")
    assert raw_columns(link)[1] == ""


def test_a_secret_read_twice_is_the_same_secret_and_a_different_one_is_not(tiny_city: Any) -> None:
    link = link_of(tiny_city)
    AuthorityCategory.objects.filter(pk=link.pk).update(webhook_secret="s3cret")
    first, second = (AuthorityCategory.objects.get(pk=link.pk).webhook_secret for _ in range(2))

    assert first == second and first == Secret(text="s3cret")
    assert first != Secret(text="other") and Secret(text="") == Secret(token="")
