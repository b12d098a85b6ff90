"""/.well-known/security.txt: a deployment's vulnerability contact, as RFC 9116 asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


def _fields(body: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in body.splitlines())


def test_it_names_the_operators_contact_and_has_not_expired(client, settings):
    settings.FIXPOINT_SECURITY_CONTACT = "seguretat@ajuntament.example.cat"

    answer = client.get("/.well-known/security.txt")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    fields = _fields(answer.content.decode())
    assert fields["Contact"] == "mailto:seguretat@ajuntament.example.cat"
    expires = datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(days=30) < expires - datetime.now(UTC) < timedelta(days=365)
    assert fields["Preferred-Languages"] == "en, ca, es"
    assert fields["Canonical"] == "http://testserver/.well-known/security.txt"


@pytest.mark.parametrize(
    "contact", ["https://ajuntament.example.cat/seguretat", "mailto:sec@example.org"]
)
def test_a_web_page_or_a_mailto_address_is_given_as_it_is(client, settings, contact):
    settings.FIXPOINT_SECURITY_CONTACT = contact

    assert _fields(client.get("/.well-known/security.txt").content.decode())["Contact"] == contact


def test_only_reading_is_allowed(client):
    assert client.post("/.well-known/security.txt").status_code == 405
