"""Finding the spot and filing it, in a real browser (issue 16): an address typed without
accents, the pin moved without losing what was typed, the confirmation link followed as it is
(the live server runs on a random port, and BASE_URL is unset), and a refused form on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from authorities.geocoding.files import AddressRow, PlaceRow
from authorities.geocoding.services import gazetteer_import
from reports.models import Report


@pytest.fixture
def streets(barcelona: Any) -> Any:
    gazetteer_import(
        rows=[
            AddressRow("test", "Passeig de Gràcia", "43", 41.39165, 2.16490, city="Barcelona"),
            AddressRow("test", "Carrer de Mallorca", "401", 41.40325, 2.17487, city="Barcelona"),
            PlaceRow(
                "test",
                "Sagrada Família",
                {"type": "Point", "coordinates": [2.17436, 41.40363]},
                "landmark",
            ),
        ],
        source="test",
    )
    return barcelona


def _choose_place(page: Page, typed: str, label: str) -> None:
    search = page.get_by_role("combobox", name="Find the street, address or place")
    search.fill(typed)
    option = page.get_by_role("option", name=re.compile(label))
    expect(option.first).to_be_visible()
    search.press("ArrowDown")
    search.press("Enter")
    expect(page.get_by_role("listbox")).to_be_hidden()  # choosing closes the list


def test_a_citizen_finds_an_address_files_moves_the_pin_and_confirms(
    page: Page, streets, live_server, screenshot
):
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/reports/new/")
    _choose_place(page, "passeig gracia 43", "Passeig de Gràcia 43")

    expect(page.locator("#authority-name")).to_have_text("Eixample")
    expect(page.locator("#pin-address")).to_contain_text("Passeig de Gràcia 43")
    page.get_by_label("Category").select_option("pavement")
    page.get_by_label("Title").fill("Loose paving slab")
    page.get_by_label("What is the problem?").fill("It rocks when you step on it.")
    page.get_by_label("Your name").fill("Núria")
    page.get_by_label("Your e-mail").fill("nuria@example.org")
    screenshot(page, "filing-with-search")

    # Another place, found by search: the pin moves, the page does not reload.
    page.evaluate("() => { window.__samePage = true; }")
    _choose_place(page, "mallorca 401", "Carrer de Mallorca 401")
    expect(page).to_have_url(re.compile(r"latitude=41\.40325"))
    expect(page.locator("#place-status")).to_contain_text("Reports here go to Eixample")
    assert page.evaluate("() => window.__samePage") is True
    expect(page.get_by_label("Title")).to_have_value("Loose paving slab")
    expect(page.get_by_label("What is the problem?")).to_have_value("It rocks when you step on it.")
    expect(page.get_by_label("Category")).to_have_value("pavement")
    expect(page.get_by_label("Your name")).to_have_value("Núria")
    page.get_by_role("button", name="Send report").click()

    expect(page.get_by_role("heading", name="Nearly done: check your e-mail")).to_be_visible()
    expect(page.get_by_text("Your report “Loose paving slab”")).to_be_visible()
    report = Report.objects.get(title="Loose paving slab")
    assert report.address == "Carrer de Mallorca 401, Barcelona"
    link = re.search(r"https?://\S+/reports/confirm/\S+/", str(mail.outbox[-1].body))
    assert link and link.group(0).startswith(live_server.url), mail.outbox[-1].body
    page.goto(link.group(0))  # as it is: the live server's own port
    expect(page.get_by_role("heading", name="Your report is confirmed")).to_be_visible()
    page.goto(report.get_absolute_url())
    expect(page.locator("#report-address")).to_have_text("near Carrer de Mallorca 401, Barcelona")


def test_on_a_phone_a_refused_form_focuses_the_summary_and_the_keyboard_sets_the_pin(
    phone_page: Page, streets, screenshot
):
    page = phone_page
    page.goto("/reports/new/")
    page.wait_for_function("() => window.fixpointMap !== undefined")
    page.evaluate("() => window.fixpointMap.setView([41.40325, 2.17487], 18, {animate: false})")
    page.locator("#pick-map").focus()
    page.keyboard.press("Enter")  # the pin goes to the centre of the map

    expect(page.get_by_role("button", name=re.compile("Where the problem is"))).to_be_visible()
    expect(page.locator("#authority-name")).to_have_text("Eixample")
    page.get_by_label("Title").fill("Bin on fire")
    page.get_by_role("button", name="Send report").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Choose the kind of problem from the list.")
    expect(summary).to_contain_text("Enter your e-mail address")
    expect(page.get_by_label("Title")).to_have_value("Bin on fire")
    summary.get_by_role("link", name=re.compile("Describe the problem")).click()
    expect(page.get_by_label("What is the problem?")).to_be_focused()
    screenshot(page, "filing-phone", full_page=True)
