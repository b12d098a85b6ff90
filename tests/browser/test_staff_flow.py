"""A district inspector in a real browser: logs in, filters the queue, verifies a report with a
template response that then shows on the public page, and verifies 20 reports at once."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from reports.models import AuditEntry, Report, ReportState, ResponseTemplate
from reports.staff.services import staff_account_set
from tests import factories

EIXAMPLE = (41.3890, 2.1610)  # near Passeig de Gràcia, in the Eixample district
PASSWORD = "inspector-password-42"
TEMPLATE = "Our inspectors have seen it; a crew is booked."


def _reports(barcelona) -> Report:
    for n in range(20):
        lat, lon = EIXAMPLE[0] + n * 0.0004, EIXAMPLE[1] + (n % 5) * 0.0004
        factories.report(barcelona.pavement, lat, lon, title=f"Loose tile {n}")
    return factories.report(barcelona.pavement, *EIXAMPLE, title="Broken kerb at the corner")


def _log_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="Staff", exact=True)).to_be_visible()


def test_a_district_inspector_works_the_queue(page: Page, barcelona, screenshot):
    eixample = barcelona.districts["eixample"]
    inspector = staff_account_set(
        email="inspector@eixample.example.org",
        authority=eixample,
        role="inspector",
        password=PASSWORD,
    ).user
    kerb = _reports(barcelona)
    ResponseTemplate.objects.create(
        title="Seen, crew booked", text=TEMPLATE, category=barcelona.pavement, state="verified"
    )

    _log_in(page, inspector.email)
    page.get_by_role("link", name="Staff", exact=True).click()
    expect(page.locator("[data-state-count=open]")).to_have_text("21")
    expect(page.locator("#staff-map path.leaflet-interactive")).to_have_count(21)  # no tiles
    screenshot(page, "staff-queue", full_page=True)

    page.locator("#staff-filters [name=q]").fill("kerb")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name=kerb.ref).click()

    screenshot(page, "staff-report", full_page=True)
    page.locator("#id_to_state").select_option("verified")
    page.locator("#id_template").select_option(label="Seen, crew booked")
    expect(page.locator("#id_public_note")).to_have_value(TEMPLATE)
    page.locator("#transition-form").get_by_role("button", name="Save").click()
    expect(page.locator("#report-state")).to_have_text("Verified")

    page.goto(kerb.get_absolute_url())
    expect(page.get_by_text(TEMPLATE)).to_be_visible()

    page.goto("/staff/?state=open")
    expect(page.locator("tbody tr")).to_have_count(20)
    page.locator("#select-all").check()
    page.locator("#id_action").select_option("verify")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Done for 20 reports.")).to_be_visible()

    assert Report.objects.filter(state=ReportState.VERIFIED).count() == 21
    assert AuditEntry.objects.filter(actor=inspector, action="transition").count() == 21
