"""Map popups stay open (issue 16): a popup opened near the map's edge pans the map to show
itself, the move reloads the pins, and the popup must survive that reload. And the report page
loads Leaflet and django-leaflet's map loader only, no plugin it does not use."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests import factories

SAGRADA = (41.4036, 2.1744)
ZOOM = 17


def _pin_near_the_top_edge(page: Page, lat: float, lon: float) -> None:
    """Move the map (no animation) so the point is 12 px below its top edge, mid-width."""
    page.wait_for_function("() => window.fixpointMap !== undefined")
    page.evaluate(
        """([lat, lon, zoom]) => {
          const map = window.fixpointMap, size = map.getSize();
          const point = map.project(L.latLng(lat, lon), zoom).add([0, size.y / 2 - 12]);
          map.setView(map.unproject(point, zoom), zoom, {animate: false});
        }""",
        [lat, lon, ZOOM],
    )
    page.wait_for_load_state("networkidle")


def _open_popup_and_wait_for_the_reload(page: Page, pins: str) -> None:
    centre = page.evaluate("() => window.fixpointMap.getCenter().lat")
    page.locator(pins).first.click()
    expect(page.locator(".leaflet-popup")).to_be_visible()
    page.wait_for_timeout(600)  # the pan (250 ms) ends, moveend asks for the pins again
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => window.fixpointMap.getCenter().lat") != centre  # it did pan


def test_a_popup_near_the_home_maps_edge_stays_open_after_the_pins_reload(page: Page, barcelona):
    factories.report(barcelona.pavement, *SAGRADA, title="Hole at the edge")
    page.goto("/")
    _pin_near_the_top_edge(page, *SAGRADA)

    _open_popup_and_wait_for_the_reload(page, "#map path.leaflet-interactive")

    expect(page.locator(".leaflet-popup")).to_be_visible()
    expect(page.locator(".leaflet-popup")).to_contain_text("Hole at the edge")
    expect(page.locator("#map path.leaflet-interactive")).to_have_count(1)  # not drawn twice
    page.locator(".leaflet-popup-close-button").click()
    page.evaluate("() => window.fixpointMap.panBy([0, 40], {animate: false})")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#map path.leaflet-interactive")).to_have_count(1)


def test_a_popup_near_the_filing_maps_edge_stays_open_on_a_phone(phone_page: Page, barcelona):
    page = phone_page
    factories.report(barcelona.pavement, *SAGRADA, title="Known hole")
    page.goto("/reports/new/")
    _pin_near_the_top_edge(page, *SAGRADA)

    _open_popup_and_wait_for_the_reload(page, "#pick-map path.leaflet-interactive")

    expect(page.locator(".leaflet-popup")).to_contain_text("Known hole")


def test_the_report_page_loads_no_leaflet_plugin(page: Page, barcelona):
    report = factories.report(barcelona.pavement, *SAGRADA, title="A hole")
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.goto(report.get_absolute_url())
    expect(page.locator("#report-point .leaflet-container")).to_be_visible()

    leaflet = sorted(url.rsplit("/static/", 1)[1] for url in scripts if "/static/leaflet/" in url)
    assert leaflet == ["leaflet/leaflet.extras.js", "leaflet/leaflet.js"]
