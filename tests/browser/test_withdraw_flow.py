"""Withdrawing a report in a real browser (issue 16), on a phone in English, Catalan and Spanish
and on a desktop: a confirmation page (no JavaScript needed), then an undo on "My reports"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from reports.models import Report, ReportState
from tests import factories

from .conftest import sign_in, switch_language

EIXAMPLE = (41.3890, 2.1610)
WORDS = {
    "en": ("Withdraw", "Yes, withdraw it", "Undo withdrawal", "Your report is back"),
    "ca": ("Retirar", "Sí, retirar-la", "Desfer la retirada", "La vostra incidència ha tornat"),
    "es": ("Retirar", "Sí, retirarla", "Deshacer la retirada", "Su incidencia ha vuelto"),
}


def _withdraw_and_undo(page: Page, barcelona, live_server, language: str, screenshot) -> None:
    withdraw, yes, undo, back = WORDS[language]
    citizen = factories.UserFactory.create(email="pau@example.org")
    report = factories.report(barcelona.pavement, *EIXAMPLE, reporter=citizen, title="Loose tile")
    sign_in(page, live_server.url, citizen)
    page.goto("/my/reports/")
    if language != "en":
        switch_language(page, language)

    page.get_by_role("link", name=re.compile(rf"^{withdraw}\W+Loose tile$")).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert Report.objects.get(pk=report.pk).state == ReportState.OPEN  # not before confirming
    width = (page.viewport_size or {"width": 0})["width"]
    screenshot(page, f"withdraw-confirm-{language}-{width}")
    page.get_by_role("button", name=yes).click()
    expect(page.get_by_role("button", name=re.compile(rf"^{undo}\W+Loose tile$"))).to_be_visible()
    assert Report.objects.get(pk=report.pk).state == ReportState.CLOSED

    page.get_by_role("button", name=re.compile(rf"^{undo}\W+Loose tile$")).click()
    expect(page.locator(".messages")).to_contain_text(back)
    expect(page.get_by_role("link", name=re.compile(rf"^{withdraw}\W+Loose tile$"))).to_be_visible()
    assert Report.objects.get(pk=report.pk).state == ReportState.OPEN


@pytest.mark.parametrize("language", ["en", "ca", "es"])
def test_on_a_phone_a_withdrawal_is_confirmed_then_undone(
    phone_page: Page, barcelona, live_server, language, screenshot
):
    _withdraw_and_undo(phone_page, barcelona, live_server, language, screenshot)


def test_on_a_desktop_a_withdrawal_is_confirmed_then_undone(
    page: Page, barcelona, live_server, screenshot
):
    _withdraw_and_undo(page, barcelona, live_server, "en", screenshot)
