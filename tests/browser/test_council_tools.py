"""A contact-centre inspector in a real browser: files a caller's report from the staff pages
(placing it on the map), then makes it private; the public page is then gone for a visitor."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from reports.models import AuditEntry, Report
from reports.staff.services import staff_account_set

from .conftest import click_to_load

PASSWORD = "contact-centre-password-42"


def test_an_inspector_files_a_callers_report_and_makes_it_private(
    page: Page, barcelona, screenshot, browser, live_server
):
    eixample = barcelona.districts["eixample"]
    inspector = staff_account_set(
        email="desk@eixample.example.org", authority=eixample, role="inspector", password=PASSWORD
    ).user
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(inspector.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.goto("/staff/")
    page.locator("#new-report-for-someone").click()

    page.get_by_label("Caller's name", exact=True).fill("Marta Puig")
    page.locator("#enter_entered_for_1").check()  # the caller's fields hide...
    expect(page.locator("#caller-fields")).to_be_hidden()
    page.get_by_label("A caller (phone, counter, letter)").check()  # ...and come back as they were
    expect(page.get_by_label("Caller's name", exact=True)).to_have_value("Marta Puig")
    page.get_by_label("Caller's e-mail").fill("marta@example.org")
    page.get_by_label("Caller's phone").fill("+34 600 111 222")
    page.get_by_label("Category").select_option(label="Pavement")
    page.get_by_label("Title").fill("Loose paving stone")
    page.get_by_label("Description").fill("Phoned in at 9:05")
    page.get_by_label("Latitude").fill("41.389")
    page.get_by_label("Longitude").fill("2.161")
    screenshot(page, "staff-file-for-someone", full_page=True)
    # After a full-page screenshot Chromium's clicks can land off their target: the keyboard
    # submits as a person at a contact-centre desk would.
    page.get_by_role("button", name="File the report").press("Enter")

    expect(page.locator("#entered-by")).to_contain_text("desk@eixample.example.org")
    report = Report.objects.get()  # after the work page showed it: the filing has committed
    page.get_by_label("Who sees it").select_option("1")
    page.locator("#work-form").get_by_role("button", name="Save changes").press("Enter")
    expect(page.locator("#report-private")).to_be_visible()
    screenshot(page, "staff-private-report", full_page=True)

    visitor = browser.new_context(base_url=live_server.url)
    response = visitor.new_page().goto(report.get_absolute_url())
    assert response is not None and response.status == 404
    visitor.close()
    assert report.entered_for == "caller" and report.state == "open"
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"entered", "privacy"}


def test_a_visitor_on_a_phone_sees_a_site_message_and_dismisses_it(phone_page: Page, screenshot):
    from datetime import timedelta

    from django.utils import timezone

    from reports import site_messages
    from reports.models import SiteMessage

    now = timezone.now()
    site_messages.site_message_save(
        message=SiteMessage(
            text="Storm damage: report fallen trees here",
            level="warning",
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(hours=6),
        ),
        actor=None,
    )
    site_messages.forget()

    phone_page.goto("/")
    banner = phone_page.locator(".site-message")
    expect(banner).to_contain_text("Storm damage")
    screenshot(phone_page, "site-message-phone")
    banner.get_by_role("button", name="Dismiss this message").click()
    expect(banner).to_have_count(0)
    phone_page.reload()  # the dismissal is kept
    expect(phone_page.locator(".site-message")).to_have_count(0)


def test_anybody_reads_an_authoritys_performance_on_a_phone(
    phone_page: Page, tiny_city, settings, screenshot
):
    from tests import factories

    settings.FIXPOINT_PERFORMANCE_MIN_REPORTS = 1
    tiny_city.pothole.sla_fix_hours = 72
    tiny_city.pothole.save()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Deep pothole")

    phone_page.goto(report.get_absolute_url())
    click_to_load(phone_page.get_by_role("link", name="West"))  # measured below: loaded
    row = phone_page.locator("#performance-table tr[data-category=pothole]")
    expect(row).to_contain_text("72 hours")
    expect(phone_page.get_by_role("link", name="Download as CSV")).to_be_visible()
    overflow = phone_page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # the table scrolls in its box, the page does not
    screenshot(phone_page, "authority-performance-phone")
