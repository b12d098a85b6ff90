"""Issuing API keys: a write key always acts for an active account, whichever way it is made."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.urls import reverse

from accounts.models import ApiClient, ApiScope
from accounts.services import WriteKeyNeedsAccount, api_client_create
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_command_refuses_a_write_key_without_an_account_and_issues_nothing(capsys):
    with pytest.raises(CommandError, match="A write key acts for a user account"):
        call_command("create_api_client", "City app", "--scope", "write")

    assert "fp_" not in capsys.readouterr().out
    assert not ApiClient.objects.exists()


def test_the_command_issues_a_write_key_that_writes_for_its_account(capsys, tiny_city):
    factories.UserFactory.create(email="app@partner.example.org")

    call_command(
        "create_api_client", "City app", "--scope", "write", "--user", "App@Partner.example.org"
    )

    key = capsys.readouterr().out.splitlines()[1]
    client = ApiClient.objects.get()
    assert (client.scope, client.user.email) == ("write", "app@partner.example.org")
    from rest_framework.test import APIClient

    filed = APIClient().post(
        "/api/v1/reports/",
        {"title": "Hole", "description": "Deep", "category": "pothole"}
        | {"latitude": tiny_city.WEST[0], "longitude": tiny_city.WEST[1]},
        format="json",
        HTTP_X_API_KEY=key,
    )
    assert filed.status_code == 201


def test_the_command_refuses_an_inactive_account_for_a_write_key(capsys):
    factories.UserFactory.create(email="gone@example.org", is_active=False)

    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_client", "App", "--scope", "write", "--user", "gone@example.org")
    assert not ApiClient.objects.exists()


def test_a_read_key_may_act_for_nobody():
    client, key = api_client_create(name="Newsroom", scope=ApiScope.READ)

    assert client.user is None and key.startswith("fp_")


def test_the_service_and_the_database_refuse_a_write_key_acting_for_nobody():
    with pytest.raises(WriteKeyNeedsAccount):
        api_client_create(name="App", scope=ApiScope.WRITE)
    client, _ = api_client_create(name="Reader", scope=ApiScope.READ)

    with pytest.raises(IntegrityError):
        ApiClient.objects.filter(pk=client.pk).update(scope=ApiScope.WRITE)


def test_the_admin_refuses_a_write_key_without_an_account_and_says_why(client):
    client.force_login(factories.UserFactory.create(is_staff=True, is_superuser=True))
    add = reverse("admin:accounts_apiclient_add")

    refused = client.post(add, {"name": "App", "scope": "write", "user": ""})
    reader = client.post(add, {"name": "Reader", "scope": "read", "user": ""}, follow=True)

    assert refused.status_code == 200
    assert "A write key acts for a user account" in refused.content.decode()
    assert list(ApiClient.objects.values_list("name", flat=True)) == ["Reader"]
    assert "copy it now" in reader.content.decode()


def test_the_admin_cannot_turn_a_read_key_acting_for_nobody_into_a_write_key(client):
    client.force_login(factories.UserFactory.create(is_staff=True, is_superuser=True))
    reader, _ = api_client_create(name="Reader", scope=ApiScope.READ)
    change = reverse("admin:accounts_apiclient_change", args=[reader.pk])

    refused = client.post(
        change, {"name": "Reader", "scope": "write", "user": "", "is_active": "on"}
    )

    assert refused.status_code == 200
    assert "A write key acts for a user account" in refused.content.decode()
    assert ApiClient.objects.get().scope == "read"
