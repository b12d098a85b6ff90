"""manage.py createstaff creates or updates a staff account of an authority with a role."""

from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from accounts.models import User
from authorities.models import StaffMembership
from reports.models import AuditEntry
from tests import factories


def _run(*args: str) -> str:
    out = StringIO()
    call_command("createstaff", *args, stdout=out)
    return out.getvalue()


def test_createstaff_with_a_password_creates_a_verified_staff_account(tiny_city):
    output = _run(
        "Ana@Council.example.org",
        "--authority",
        "west",
        "--role",
        "inspector",
        "--password",
        "a-long-password-42",
    )

    user = User.objects.get(email="ana@council.example.org")
    assert "Created" in output and "http" not in output
    assert user.check_password("a-long-password-42") and user.is_staff
    assert EmailAddress.objects.get(user=user).verified
    assert StaffMembership.objects.get(user=user).role == "inspector"
    assert AuditEntry.objects.get().after == {"role": "inspector", "created": True}


def test_createstaff_without_a_password_prints_a_working_set_password_link(client, tiny_city):
    output = _run("bo@council.example.org", "--authority", "east", "--role", "viewer")

    link = output.strip().splitlines()[-1]
    assert "/accounts/password/reset/key/" in link
    response = client.get(link.split("8000", 1)[-1], follow=True)
    assert response.status_code == 200
    assert "password1" in response.content.decode()


def test_createstaff_updates_the_role_of_an_existing_account(tiny_city):
    user = factories.staff(tiny_city.west)

    output = _run(user.email, "--authority", "west", "--role", "administrator")

    assert "Updated" in output
    assert StaffMembership.objects.get(user=user).role == "administrator"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x@example.org", "--authority", "nowhere", "--role", "viewer"], "no authority"),
        (["not-an-address", "--authority", "west", "--role", "viewer"], "not an e-mail"),
        (["x@example.org", "--authority", "west", "--role", "viewer", "--password", "1"], "short"),
    ],
)
def test_createstaff_refuses_bad_input_and_creates_nothing(tiny_city, args, message):
    before = User.objects.count()

    with pytest.raises(CommandError, match=message):
        _run(*args)

    assert User.objects.count() == before
