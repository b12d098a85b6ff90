"""Calm points notices in a real browser (issue 16): however much news there is, one banner, and
on a phone the page's heading stays near the top (a wall of 20 banners pushed it 1,461 px down).
Walked in English, Catalan and Spanish."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gamification.models import PointEntry
from reports import services
from reports.models import ReportState
from tests import factories

from .conftest import sign_in, switch_language

EIXAMPLE = (41.3890, 2.1610)
BANNER = {
    "en": "+100 points for 10 verified reports — see your points",
    "ca": "+100 punts per 10 incidències verificades — vegeu els vostres punts",
    "es": "+100 puntos por 10 incidencias verificadas — vea sus puntos",
}


def _news_in(page: Page, language: str, live_server, citizen) -> None:
    sign_in(page, live_server.url, citizen)
    if language != "en":
        page.goto("/privacy/")
        switch_language(page, language)


@pytest.mark.parametrize("language", ["en", "ca", "es"])
def test_on_a_phone_twenty_awards_are_one_banner_under_which_the_heading_stays_in_view(
    phone_page: Page, barcelona, live_server, language, screenshot
):
    page = phone_page
    citizen = factories.UserFactory.create(email="marta@example.org")
    _news_in(page, language, live_server, citizen)
    inspector = factories.staff(barcelona.districts["eixample"])
    for n in range(20):
        report = factories.report(barcelona.pavement, *EIXAMPLE, reporter=citizen, title=f"H{n}")
        services.report_transition(
            report_id=report.pk, to_state=ReportState.VERIFIED, actor=inspector
        )
    assert PointEntry.objects.filter(user=citizen).exclude(amount=0).count() == 10  # the daily cap

    page.goto("/my/reports/")

    banner = page.locator(".game-notice")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text(BANNER[language])
    expect(page.get_by_role("status").filter(has_text=BANNER[language])).to_have_count(1)
    heading = page.get_by_role("heading", level=1).bounding_box()
    assert heading is not None and heading["y"] < 400, heading  # was 1,461 px down
    screenshot(page, f"points-notice-phone-{language}")
    banner.get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/me/points/")
    expect(page.locator(".game-notice")).to_have_count(0)  # told once


def test_a_penalty_banner_is_not_green_on_the_desktop(page: Page, barcelona, live_server):
    citizen = factories.UserFactory.create(email="jordi@example.org")
    report = factories.report(barcelona.pavement, *EIXAMPLE, reporter=citizen)
    inspector = factories.staff(barcelona.districts["eixample"])
    services.report_transition(report_id=report.pk, to_state=ReportState.SPAM, actor=inspector)
    sign_in(page, live_server.url, citizen)

    page.goto("/my/reports/")

    banner = page.locator(".game-notice")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text("points: your report was marked as spam")
    colour = banner.evaluate("el => getComputedStyle(el).borderLeftColor")
    assert colour == "rgb(138, 75, 0)"  # --warn, not --ok's green
