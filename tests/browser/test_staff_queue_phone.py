"""The staff queue on a phone (issue 16): the filters fold away (a <details>), so the reports are
near the top of the page instead of below a screen and a half of form; on a desktop they are
open. Walked in English, Catalan and Spanish."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from reports.staff.services import staff_account_set
from tests import factories

from .conftest import PHONE, new_context, sign_in, switch_language

EIXAMPLE = (41.3890, 2.1610)
WORDS = {
    "en": ("More filters", "State"),
    "ca": ("Més filtres", "Estat"),
    "es": ("Más filtros", "Estado"),
}


def _queue(barcelona, page: Page, live_server, language: str) -> None:
    for n in range(5):
        factories.report(barcelona.pavement, EIXAMPLE[0] + n * 0.0004, EIXAMPLE[1], title=f"T{n}")
    inspector = staff_account_set(
        email="inspector@eixample.example.org",
        authority=barcelona.districts["eixample"],
        role="inspector",
        password="inspector-password-42",
    ).user
    sign_in(page, live_server.url, inspector)
    page.goto("/staff/")
    if language != "en":
        switch_language(page, language)


@pytest.mark.parametrize("language", ["en", "ca", "es"])
def test_on_a_phone_the_filters_fold_away_and_the_queue_is_near_the_top(
    phone_page: Page, barcelona, live_server, language, screenshot
):
    page = phone_page
    more, state = WORDS[language]
    _queue(barcelona, page, live_server, language)

    first = page.locator("tbody tr").first
    expect(first).to_be_visible()
    top = first.bounding_box()
    # The filters fold away, so the reports follow them at once: the folded form is short and
    # the first report comes right after it, below the list's heading and the idle bulk bar
    # (about 90 px). Measured on the loaded page: in Catalan and Spanish CI once measured the
    # page the language switch led to while it was still loading, with the bulk bar's controls
    # not yet folded by staff.js, 470 px of them (switch_language waits now).
    form = page.locator("#staff-filters").bounding_box()
    assert top is not None and form is not None
    assert form["height"] < 300, form
    assert top["y"] - (form["y"] + form["height"]) < 200, (form, top)
    chips = page.get_by_role("group", name=state)
    expect(chips).to_be_hidden()
    expect(page.locator("#staff-filters [name=q]")).to_be_visible()  # the search stays
    screenshot(page, f"staff-queue-filters-phone-{language}")

    page.get_by_text(more).click()
    expect(chips).to_be_visible()
    page.locator("#staff-filters input[name=state][value=open]").uncheck()
    page.locator("#staff-filters button[type=submit]").click()
    expect(page.locator("tbody input[name=reports]")).to_have_count(0)  # every report is open
    none = page.locator("tbody td[colspan]").bounding_box()  # "No reports match."
    assert none is not None and none["width"] > 250, none  # not squeezed into the tick's column
    expect(page.locator("#more-filters summary")).to_contain_text("(1 ")  # "1 in use"


@pytest.mark.parametrize("language", ["en", "es"])
def test_on_a_phone_without_javascript_the_bulk_controls_wait_for_a_ticked_report(
    browser: Browser, barcelona, live_server, language
):
    # What a phone shows before staff.js has arrived (or if it never does): the queue right after
    # the filters, the bulk bar's controls folded by the stylesheet until a report is ticked.
    context = new_context(browser, live_server.url, java_script_enabled=False, **PHONE)
    try:
        page = context.new_page()
        _queue(barcelona, page, live_server, language)

        controls = page.locator("#bulk-controls")
        expect(controls).to_be_hidden()
        top = page.locator("tbody tr").first.bounding_box()
        form = page.locator("#staff-filters").bounding_box()
        assert top is not None and form is not None
        assert top["y"] - (form["y"] + form["height"]) < 200, (form, top)
        page.locator("tbody input[name=reports]").first.check()
        expect(controls).to_be_visible()
    finally:
        context.close()


def test_on_a_desktop_the_filters_are_open(page: Page, barcelona, live_server):
    _queue(barcelona, page, live_server, "en")

    expect(page.get_by_role("group", name="State")).to_be_visible()
