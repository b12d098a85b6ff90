"""The accessibility statement at /accessibility/: linked from every page's footer, naming the
address people write to about a barrier (ACCESSIBILITY_CONTACT), in the reader's language."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_statement_names_the_configured_contact_for_reporting_a_barrier(client, settings):
    settings.FIXPOINT_ACCESSIBILITY_CONTACT = "barreres@ajuntament.example.cat"

    page = client.get("/accessibility/").content.decode()

    assert '<a href="mailto:barreres@ajuntament.example.cat">' in page
    assert "WCAG" in page and "What is not accessible yet" in page


def test_every_page_links_to_the_statement_from_its_footer(client):
    page = client.get("/alerts/").content.decode()

    footer = page[page.index('<footer class="site-footer">') :]
    assert 'href="/accessibility/"' in footer


def test_the_statement_is_in_catalan_for_a_catalan_reader(client):
    page = client.get("/accessibility/", HTTP_ACCEPT_LANGUAGE="ca").content.decode()

    assert '<html lang="ca"' in page and "Declaració d'accessibilitat" in page
