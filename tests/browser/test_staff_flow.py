"""A district inspector in a real browser, on a desktop and on a phone: logs in and lands on the
queue of work to do, filters it, works a report through the one form (a template response that
then shows on the public page, an assignee, a priority) and changes many reports at once."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from authorities.services import BoundaryFeature, areas_import
from reports import services
from reports.models import AuditEntry, Report, ReportState, ResponseTemplate
from reports.staff.services import staff_account_set
from tests import factories
from tests.conftest import barcelona_geojson

from .conftest import click_to_load

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
    # Loaded, its scripts run: the phone test measures the page's width next, and a queue still
    # loading is not what a person works with (the bulk bar's controls not yet folded away).
    click_to_load(page.get_by_role("button", name="Sign In"))
    # Staff land on their queue, not on the citizen's "My reports".
    expect(page.get_by_role("heading", name="Reports to work on")).to_be_visible()


def _neighbourhoods(barcelona) -> None:
    features = [
        BoundaryFeature(n, f["properties"]["NOM"], f["properties"]["CODI_UA"], f["geometry"])
        for n, f in enumerate(barcelona_geojson("barris")["features"], 1)
    ]
    areas_import(features=features, authority=barcelona.city)  # all 73 belong to the city


def _inspector(barcelona) -> str:
    eixample = barcelona.districts["eixample"]
    return staff_account_set(
        email="inspector@eixample.example.org",
        authority=eixample,
        role="inspector",
        password=PASSWORD,
    ).user.email


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    assert width <= viewport["width"], f"{page.url} scrolls sideways ({width} px)"


def test_a_district_inspector_works_the_queue(page: Page, barcelona, screenshot):
    _neighbourhoods(barcelona)
    email = _inspector(barcelona)
    kerb = _reports(barcelona)
    fixed = factories.report(barcelona.pavement, *EIXAMPLE, title="Already mended")
    services.report_transition(report_id=fixed.pk, to_state="fixed", actor=None)
    ResponseTemplate.objects.create(
        title="Seen, crew booked", text=TEMPLATE, category=barcelona.pavement, state="verified"
    )

    _log_in(page, email)
    expect(page.locator("[data-state-count=open]")).to_have_text("21")
    expect(page.locator("tbody tr")).to_have_count(21)  # the work to do: not the fixed one
    expect(page.locator("#staff-map path.leaflet-interactive")).to_have_count(21)  # no tiles
    expect(page.locator("#id_area option")).to_have_count(7)  # "Any" and Eixample's six
    screenshot(page, "staff-queue", full_page=True)

    page.locator("#staff-filters [name=q]").fill("kerb")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name=kerb.ref).click()

    expect(page.locator("#original-field")).to_be_hidden()  # only for Duplicate
    screenshot(page, "staff-report")
    page.locator("#id_to_state").select_option("verified")
    page.locator("#id_template").select_option(label="Seen, crew booked")
    expect(page.locator("#id_public_note")).to_have_value(TEMPLATE)
    page.get_by_label("Assign to").select_option(label=email)
    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#report-state")).to_have_text("Verified")
    expect(page.get_by_text("Open → Verified")).to_be_visible()
    kerb.refresh_from_db()
    assert kerb.assignee is not None
    assert (kerb.assignee.email, kerb.priority) == (email, "high")

    page.goto(kerb.get_absolute_url())
    expect(page.get_by_text(TEMPLATE)).to_be_visible()

    page.goto("/staff/?state=open")
    expect(page.locator("tbody tr")).to_have_count(20)
    expect(page.locator("#bulk-controls")).to_be_hidden()  # nothing ticked yet
    page.locator("#select-all").check()
    expect(page.locator("#bulk-count")).to_have_text("20 selected")
    page.locator("#id_action").select_option("verify")
    page.mouse.wheel(0, 2000)  # the bar stays in view while the list scrolls
    expect(page.get_by_role("button", name="Apply")).to_be_in_viewport()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Done for 20 reports.")).to_be_visible()

    assert Report.objects.filter(state=ReportState.VERIFIED).count() == 21
    assert AuditEntry.objects.filter(action="transition").count() == 21


def test_an_inspector_works_the_queue_on_a_phone(phone_page: Page, barcelona, screenshot):
    page = phone_page
    email = _inspector(barcelona)
    kerb = _reports(barcelona)

    _log_in(page, email)
    expect(page.locator("tbody tr").first).to_be_visible()
    _no_sideways_scroll(page)
    page.locator("#bulk-bar").scroll_into_view_if_needed()
    screenshot(page, "staff-queue-phone")

    page.locator("#staff-filters [name=q]").fill("tile")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(20)
    boxes = page.locator("tbody input[name=reports]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.locator("#id_action").select_option("assign")
    page.locator("#bulk-controls").get_by_label("Assign to").select_option(label=email)
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Done for 2 reports.")).to_be_visible()
    assert Report.objects.filter(assignee__email=email).count() == 2

    page.goto(f"/staff/reports/{kerb.pk}/")
    _no_sideways_scroll(page)
    page.locator("#id_to_state").select_option("in_progress")
    page.get_by_label("Public response").fill("On our way.")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#report-state")).to_have_text("In progress")
    _no_sideways_scroll(page)
