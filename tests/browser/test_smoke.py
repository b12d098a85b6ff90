"""A first walk through the public pages in Chromium, with no network beyond the live server.

The home page is becoming a map, so these tests hold on to what stays: page titles, report links,
the timeline, the skip link and the layout's width.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from reports import services
from reports.models import Report, ReportState
from tests import factories

if TYPE_CHECKING:
    from tests.browser.conftest import Screenshot
    from tests.conftest import Barcelona

POTHOLE = "Deep pothole on Carrer de Mallorca"


@pytest.fixture
def pothole(barcelona: Barcelona) -> Report:
    # Real Barcelona boundaries, as in the demo: the home map opens on Barcelona and lists what
    # it shows, so reports elsewhere (tiny_city's) would drop out of its list.
    report = factories.report(barcelona.pavement, 41.3953, 2.1620, title=POTHOLE)  # Eixample
    factories.report(barcelona.waste, 41.4036, 2.1564, title="Overflowing bin")  # Gràcia
    services.report_transition(
        report_id=report.pk,
        to_state=ReportState.VERIFIED,
        actor=factories.staff(report.authority),
        public_note="A crew will fill it this week.",
    )
    return report


def test_live_server_serves_our_and_leaflets_static_files(page: Page) -> None:
    for path in ["/static/css/fixpoint.css", "/static/leaflet/leaflet.js"]:
        response = page.request.get(path)
        assert response.status == 200, path


def test_a_citizen_follows_a_report_from_the_home_page_to_its_timeline(
    page: Page, pothole: Report, screenshot: Screenshot
) -> None:
    page.goto("/")
    expect(page).to_have_title(re.compile("Fixpoint"))
    link = page.get_by_role("link", name=POTHOLE)
    expect(link).to_be_visible()
    page.wait_for_load_state("networkidle")  # the map's own requests, for a settled screenshot
    screenshot(page, "smoke-home")

    link.click()

    expect(page).to_have_url(re.compile(re.escape(pothole.get_absolute_url()) + "$"))
    expect(page).to_have_title(re.compile(POTHOLE))
    expect(page.get_by_role("heading", level=1)).to_have_text(POTHOLE)
    expect(page.get_by_role("heading", name="What happened")).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("> li")).to_have_count(2)  # open, then verified
    expect(timeline).to_contain_text("Verified")
    expect(timeline).to_contain_text("A crew will fill it this week.")


def test_the_first_tab_stop_is_a_visible_skip_link_to_the_content(page: Page) -> None:
    page.goto("/")

    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # hidden off-screen until focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_pages_fit_a_phone_without_horizontal_scrolling(
    phone_page: Page, pothole: Report, screenshot: Screenshot
) -> None:
    for path, name in [
        ("/", "smoke-phone-home"),
        (pothole.get_absolute_url(), "smoke-phone-report"),
    ]:
        phone_page.goto(path)
        phone_page.wait_for_load_state("networkidle")

        overflow = phone_page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
        screenshot(phone_page, name)
