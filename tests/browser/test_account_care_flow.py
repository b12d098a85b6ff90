"""A reporter answers "Has this been fixed?" from the e-mail's link on a phone; a citizen
downloads their data and deletes their account."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from reports import questionnaires
from reports.models import Report, ReportState
from tests import factories

PASSWORD = "citizen-password-42"


def test_a_reporter_answers_the_questionnaire_from_the_emailed_link(
    phone_page: Page, tiny_city, screenshot
):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Hole by the school")
    asked = questionnaires.questionnaire_send(
        report_id=report.pk, now=timezone.now() + timedelta(weeks=5)
    )
    assert asked is not None
    link = questionnaires.questionnaire_link(asked, "yes").split("8000", 1)[1]

    phone_page.goto(link)
    expect(phone_page.get_by_label("Yes, it has been fixed")).to_be_checked()
    phone_page.get_by_label("Comment (optional, public)").fill("Filled in on Monday.")
    screenshot(phone_page, "questionnaire", full_page=True)
    phone_page.get_by_role("button", name="Send my answer").click()

    expect(phone_page.locator("h1")).to_have_text("Thank you for your answer")
    assert Report.objects.get(pk=report.pk).state == ReportState.FIXED
    phone_page.get_by_role("link", name="See the report").click()
    expect(phone_page.locator("body")).to_contain_text("Filled in on Monday.")


def test_a_citizen_downloads_their_data_and_deletes_their_account(
    page: Page, tiny_city, screenshot
):
    citizen = factories.UserFactory.create(email="marta@example.org", password=PASSWORD)
    EmailAddress.objects.create(user=citizen, email=citizen.email, verified=True, primary=True)
    factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=citizen, show_name=True)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(citizen.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    page.goto("/my/reports/")
    page.get_by_role("link", name="Download your data").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download JSON (data only)").click()
    assert download.value.suggested_filename.endswith(".json")
    page.get_by_role("link", name="Delete my account").click()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("I understand that this cannot be undone.").check()
    screenshot(page, "account-delete", full_page=True)
    page.get_by_role("button", name="Delete my account").click()

    expect(page.locator(".messages")).to_contain_text("Your account is deleted")
    assert User.objects.get(pk=citizen.pk).erased_at is not None
    assert Report.objects.get(title="Pothole").reporter is None
