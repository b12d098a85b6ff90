"""A citizen in a real browser: their report is verified by staff, they see the points notice on
their next page, find the points on their profile and redeem a prize for a code."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from playwright.sync_api import Page, expect

from gamification.models import Redemption
from reports import services
from reports.models import ReportState
from tests import factories

EIXAMPLE = (41.3890, 2.1610)
PASSWORD = "citizen-password-42"


def test_a_verified_report_earns_points_the_citizen_sees_and_spends(
    page: Page, barcelona, screenshot
):
    citizen = factories.UserFactory.create(email="marta@example.org", password=PASSWORD)
    EmailAddress.objects.create(user=citizen, email=citizen.email, verified=True, primary=True)
    report = factories.report(barcelona.pavement, *EIXAMPLE, reporter=citizen)
    inspector = factories.staff(barcelona.districts["eixample"])
    services.report_transition(
        report_id=report.pk, to_state=ReportState.VERIFIED, actor=inspector, public_note="Seen."
    )
    prize = factories.RewardFactory.create(title="A month of Bicing", cost=10, stock=1)

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(citizen.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    expect(page.locator(".game-notice")).to_contain_text("+10 points")
    page.get_by_role("link", name="My points").click()
    expect(page.locator("#balance")).to_have_text("10")
    screenshot(page, "game-profile", full_page=True)
    page.get_by_role("button", name="Redeem").click()

    redemption = Redemption.objects.get(reward=prize, user=citizen)
    expect(page.locator(".messages")).to_contain_text(redemption.code)
    expect(page.locator("#balance")).to_have_text("0")
    page.reload()
    expect(page.locator(".game-notice")).to_have_count(0)  # a notice is shown once
