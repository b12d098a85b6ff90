"""A citizen on the map, in a real browser: place a pin, file a report with a photo, confirm it
from the e-mail and find it again on the map and in the list."""

from __future__ import annotations

import io
import re
from pathlib import Path

from django.core import mail
from PIL import Image
from playwright.sync_api import Page, expect

from reports.models import Report, ReportState
from tests import factories

SAGRADA = (41.4036, 2.1744)


def _photo(tmp_path: Path) -> Path:
    path = tmp_path / "pothole.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (90, 80, 70)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def _centre_map(page: Page, lat: float, lon: float, zoom: int) -> None:
    page.wait_for_function("() => window.fixpointMap !== undefined")
    page.evaluate(f"() => window.fixpointMap.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
    page.wait_for_load_state("networkidle")


def test_a_citizen_files_confirms_and_finds_a_report(
    page: Page, barcelona, live_server, tmp_path, screenshot
):
    factories.CategoryFactory.create(name="Graffiti", slug="graffiti")  # handled by nobody
    factories.report(barcelona.pavement, 41.4037, 2.1745, title="Old pothole by the basilica")

    page.goto("/")
    _centre_map(page, *SAGRADA, 18)
    page.locator("#map").click()  # the centre of the map: the Sagrada Família
    page.get_by_role("link", name="Report a problem here").click()

    expect(page).to_have_url(re.compile(r"/reports/new/\?latitude=41\.403"))
    category = page.get_by_label("Category")
    expect(category.locator("option")).to_have_count(3)  # the prompt, Pavement and Waste
    options = category.locator("option").all_inner_texts()
    assert "Pavement" in options and "Waste" in options and "Graffiti" not in options
    category.select_option("pavement")
    expect(page.locator("#authority-name")).to_have_text("Eixample")
    page.get_by_label("Title").fill("Cracked kerb at the crossing")
    page.get_by_label("What is the problem?").fill("The kerb is broken in three places.")
    page.get_by_label("Your name").fill("Núria")
    page.get_by_label("Your e-mail").fill("nuria@example.org")
    page.get_by_label("Photos (up to 3: JPEG, PNG or WebP)").set_input_files(_photo(tmp_path))
    page.get_by_role("button", name="Send report").click()

    expect(page.get_by_role("heading", name="Is it one of these?")).to_be_visible()
    expect(page.get_by_text("Old pothole by the basilica")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Cracked kerb at the crossing")
    expect(page.locator(".thumbs img")).to_have_count(1)  # the photo was kept
    page.get_by_role("button", name="Mine is different: send my report").click()
    expect(page.get_by_role("heading", name="Nearly done: check your e-mail")).to_be_visible()

    report = Report.objects.get(title="Cracked kerb at the crossing")
    assert report.state == ReportState.UNCONFIRMED and report.photos.count() == 1
    found = re.search(r"https?://\S+/reports/confirm/\S+/", str(mail.outbox[-1].body))
    assert found, mail.outbox[-1].body
    link = found.group(0)
    page.goto(re.sub(r"^https?://[^/]+", live_server.url, link))
    expect(page.get_by_role("heading", name="Your report is confirmed")).to_be_visible()
    page.locator("#confirmed-report").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Cracked kerb at the crossing")
    expect(page.locator(".photos img")).to_have_count(1)
    page.wait_for_load_state("networkidle")
    screenshot(page, "report-page")

    page.goto("/")
    _centre_map(page, *SAGRADA, 17)
    expect(page.locator("#report-list")).to_contain_text("Cracked kerb at the crossing")
    assert page.locator("path.leaflet-interactive").count() >= 2  # both pins, no base map needed
    screenshot(page, "map")


def test_filters_change_the_pins_and_the_list(page: Page, barcelona):
    factories.report(barcelona.pavement, 41.4030, 2.1740, title="Open hole")
    fixed = factories.report(barcelona.pavement, 41.4040, 2.1750, title="Mended hole")
    from reports import services

    staff = factories.staff(barcelona.districts["eixample"])
    services.report_transition(report_id=fixed.pk, to_state=ReportState.FIXED, actor=staff)
    factories.report(barcelona.waste, 41.4035, 2.1745, title="Full bin")

    page.goto("/")
    _centre_map(page, *SAGRADA, 16)
    listing = page.locator("#report-list")
    expect(listing).to_contain_text("Mended hole")

    page.get_by_role("button", name="Hide fixed").click()
    expect(listing).not_to_contain_text("Mended hole")
    expect(listing).to_contain_text("Open hole")

    page.get_by_label("Category").select_option("waste-collection")
    expect(listing).to_contain_text("Full bin")
    expect(listing).not_to_contain_text("Open hole")


def test_without_map_tiles_the_map_still_shows_boundaries_pins_and_the_list(page: Page, barcelona):
    factories.report(barcelona.pavement, *SAGRADA, title="Hole without tiles")
    page.route("**/*.png", lambda route: route.abort())  # no tile server reachable at all

    page.goto("/")
    _centre_map(page, *SAGRADA, 13)

    expect(page.locator("#report-list")).to_contain_text("Hole without tiles")
    expect(page.locator(".leaflet-overlay-pane path").first).to_be_attached()  # boundaries


def test_outside_the_city_the_form_says_so(page: Page, barcelona):
    page.goto("/reports/new/?latitude=41.35&longitude=2.25")  # in the sea

    expect(page.locator("#outside")).to_contain_text("No council covers this spot")
    expect(page.locator("#report-form")).to_have_count(0)
    page.wait_for_load_state("networkidle")  # the map's layers and the pin's address arrive
