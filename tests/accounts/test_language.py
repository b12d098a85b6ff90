"""Choosing the language: the browser's by default, the switcher on every page, remembered on
the account of a signed-in person and brought back on every device they sign in from."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client

from accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db

COOKIE = settings.LANGUAGE_COOKIE_NAME


def _html_tag(response) -> str:
    tag = re.search(r"<html[^>]*>", response.content.decode())
    assert tag is not None
    return tag.group(0)


@pytest.mark.parametrize(
    ("accept", "language", "sentence"),
    [("ca,es;q=0.8", "ca", "Alertes"), ("es-ES", "es", "Alertas"), ("en-GB", "en", "Alerts")],
)
def test_a_page_follows_the_browsers_language_with_lang_and_dir_on_html(
    client, accept, language, sentence
):
    # Read from the committed .mo files: no GNU gettext is needed to serve a translated page.
    response = client.get("/", headers={"accept-language": accept})

    assert _html_tag(response) == f'<html lang="{language}" dir="ltr">'
    assert f">{sentence}</a>" in response.content.decode()
    assert response["Content-Language"] == language


def test_an_unknown_browser_language_gets_english(client):
    response = client.get("/", headers={"accept-language": "fi"})

    assert _html_tag(response) == '<html lang="en" dir="ltr">'
    assert "Report a problem" in response.content.decode()


@pytest.mark.parametrize("path", ["/", "/alerts/", "/accounts/login/", "/reports/new/"])
def test_every_page_offers_the_switcher_with_each_language_named_in_itself(client, path):
    page = client.get(path, headers={"accept-language": "es"}).content.decode()

    assert 'action="/i18n/setlang/"' in page
    for code, name in (("en", "English"), ("ca", "Català"), ("es", "Español")):
        assert f'value="{code}" lang="{code}"' in page
        assert f">{name}</button>" in page
    assert 'value="es" lang="es" class="link" aria-current="true"' in page


def test_the_switcher_sets_the_language_and_returns_to_the_page(client):
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/alerts/"})

    assert response.status_code == 302 and response["Location"] == "/alerts/"
    assert response.cookies[COOKIE].value == "es"
    page = client.get("/alerts/", headers={"accept-language": "ca"})
    assert _html_tag(page) == '<html lang="es" dir="ltr">'


def test_the_switcher_never_sends_you_to_another_site(client):
    response = client.post(
        "/i18n/setlang/", {"language": "ca", "next": "https://evil.example.org/"}
    )

    assert response.status_code == 302 and response["Location"] == "/"


def test_a_signed_in_persons_choice_is_saved_and_comes_back_on_another_device(client):
    person = factories.UserFactory.create(email="marta@example.org", language="")
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    client.force_login(person)

    client.post("/i18n/setlang/", {"language": "ca", "next": "/"})

    person.refresh_from_db()
    assert person.language == "ca"
    phone = Client(headers={"accept-language": "en"})
    login = phone.post(
        "/accounts/login/", {"login": "marta@example.org", "password": "pw-for-tests"}
    )
    assert login.status_code == 302
    assert login.cookies[COOKIE].value == "ca"
    assert _html_tag(phone.get("/")) == '<html lang="ca" dir="ltr">'


def test_logging_in_keeps_the_language_read_in_when_none_was_chosen():
    person = factories.UserFactory.create(email="jordi@example.org", language="")
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    browser = Client(headers={"accept-language": "es-ES,es;q=0.9"})

    browser.post("/accounts/login/", {"login": "jordi@example.org", "password": "pw-for-tests"})

    assert User.objects.get(pk=person.pk).language == "es"


def test_an_unknown_language_from_the_switcher_changes_nothing(client):
    person = factories.UserFactory.create(language="ca")
    client.force_login(person)

    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})

    person.refresh_from_db()
    assert person.language == "ca"


def test_the_javascript_catalogue_speaks_the_pages_language(client):
    script = client.get("/i18n/js/", headers={"accept-language": "ca"}).content.decode()

    assert "Comunicar un problema aqu\\u00ed" in script or "Comunicar un problema aquí" in script
    assert "ngettext" in script
