"""WCAG 2.2 AA in Chromium: axe-core on every page of the site (tests/browser/access_walk.py),
in English, Catalan and Spanish, on a desktop and on a 320 px phone; then, one test each, what
axe cannot see (target sizes, the pin legend, reflow, the focus ring).

The walk is the costly part, so it is built to be quick: one browser, one context per language
and viewport, the data made once, axe limited to the WCAG A/AA rules, no screenshots, no sleeps.
The whole matrix (3 languages x 2 viewports) runs with FIXPOINT_ACCESS_MATRIX=full (.ci/run sets
it for the PostgreSQL pass, the only one of its two passes that runs the browser tests);
otherwise two of its six cells, English on a desktop and Catalan on a
phone, which between them cover every page, both layouts and a translated text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from axe_playwright_python.base import AXE_FILE_PATH as AXE_SCRIPT
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests import factories
from tests.browser.access_walk import WALK, People, Visit, people
from tests.browser.conftest import DESKTOP, JsErrors, new_context, sign_in

# 320 CSS px is WCAG's reflow width (1.4.10): the phone of the walk is the narrowest there is.
PHONE_320: dict[str, Any] = {
    "viewport": {"width": 320, "height": 640},
    "is_mobile": True,
    "has_touch": True,
}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE_320}
LOCALES = {"en": "en-GB", "ca": "ca-ES", "es": "es-ES"}
FULL = [(language, viewport) for language in LOCALES for viewport in VIEWPORTS]
SHORT = [("en", "desktop"), ("ca", "phone")]
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Beyond the WCAG-tagged rules, axe's structural checks the issue names (a skipped heading level
# on /challenges/) and that a screen reader's page outline relies on: no two landmarks of one
# name (the staff statistics had a section and the table scrolling inside it both called "By
# category").
STRUCTURE = ["heading-order", "page-has-heading-one", "landmark-one-main", "landmark-unique"]
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": WCAG_AA},
    "rules": {rule: {"enabled": True} for rule in STRUCTURE},
    "resultTypes": ["violations"],
}


def matrix() -> list[tuple[str, str]]:
    wanted = os.environ.get("FIXPOINT_ACCESS_MATRIX", "short")
    if wanted not in {"short", "full"}:
        raise ValueError(f"FIXPOINT_ACCESS_MATRIX={wanted!r}: use short or full")
    return FULL if wanted == "full" else SHORT


@dataclass
class Finding:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


# Started on every cell's page before any result is awaited, so the cells' renderers check their
# pages side by side while the next cell's page loads.
AXE_START = """(options) => {
  window.__fixpointAxe = axe.run(document, options).then((result) => {
    const root = document.documentElement;
    const wide = root.scrollWidth > root.clientWidth
      ? [...document.body.querySelectorAll("*")]
          .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1)
          // the innermost: an element past the edge none of whose children are
          .filter((e) => ![...e.children].some(
            (c) => c.getBoundingClientRect().right > root.clientWidth + 1))
          .slice(0, 5)
          .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
            + (typeof e.className === "string" && e.className.trim()
              ? "." + e.className.trim().split(/\\s+/).join(".") : ""))
      : [];
    return {
      lang: root.lang,
      width: root.clientWidth,
      scrollWidth: root.scrollWidth,
      wide,
      violations: result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.slice(0, 5).map((node) => node.target.join(" ")),
      })),
    };
  });
}"""
AXE_RESULT = "() => window.__fixpointAxe"


@dataclass
class Cell:
    """One language on one viewport: a page of its own context, signed in as one person."""

    language: str
    viewport: str
    page: Page
    signed_in_as: str | None = None

    def open(self, visit: Visit, who: People, origin: str) -> list[str]:
        """Open the visit's page, bring it to its state and start axe on it."""
        if visit.who != self.signed_in_as:
            sign_in(self.page, origin, who.user(visit.who))
            self.signed_in_as = visit.who
        response = self.page.goto(visit.path(who))
        assert response is not None
        if visit.ready:
            expect(self.page.locator(visit.ready).first).to_be_attached()
        if visit.act:
            visit.act(self.page)
        self.page.evaluate(AXE_START, AXE_OPTIONS)
        return [] if response.status == visit.status else [f"answered {response.status}"]

    def problems(self) -> list[str]:
        """What axe found on the page opened last, and what the page's language and width say."""
        seen = self.page.evaluate(AXE_RESULT)
        found = [
            f"{v['id']} ({v['impact']}) {v['help']}: {'; '.join(v['targets'])}"
            for v in seen["violations"]
        ]
        if seen["lang"].split("-")[0] != self.language:
            found.append(f'<html lang="{seen["lang"]}">, not {self.language}')
        if seen["scrollWidth"] > seen["width"] and seen["width"] <= 320:
            found.append(
                f"{seen['scrollWidth']} px wide on a {seen['width']} px screen (WCAG 1.4.10 "
                f"reflow): {', '.join(seen['wide'])}"
            )
        return found


def _cells(browser: Browser, origin: str, js_errors: JsErrors) -> Iterator[list[Cell]]:
    contexts = []
    cells = []
    for language, viewport in matrix():
        context = new_context(browser, origin, locale=LOCALES[language], **VIEWPORTS[viewport])
        context.add_init_script(path=AXE_SCRIPT)  # Playwright's, so outside the page's CSP
        js_errors.watch_csp(context)
        page = context.new_page()
        js_errors.watch(page)
        contexts.append(context)
        cells.append(Cell(language, viewport, page))
    try:
        yield cells
    finally:
        for context in contexts:
            context.close()


def _unexpected(js_errors: JsErrors, visit: Visit) -> list[str]:
    """The page's errors, but for Chromium's console line about the status a visit expects (the
    page-not-found page is a 404 on purpose)."""
    expected = f"status of {visit.status} "
    return [e for e in js_errors.take() if visit.status == 200 or expected not in e]


def test_every_page_meets_wcag_aa_in_every_language_on_desktop_and_phone(
    browser: Browser, live_server: LiveServer, js_errors: JsErrors, barcelona: Any
) -> None:
    who = people(barcelona)
    findings: list[Finding] = []
    for cells in _cells(browser, live_server.url, js_errors):
        for visit in WALK:
            opened = {id(cell): cell.open(visit, who, live_server.url) for cell in cells}
            for cell in cells:
                where = f"[{cell.language}, {cell.viewport}] {visit.label}"
                for problem in opened[id(cell)] + cell.problems():
                    findings.append(Finding(where, problem))
            findings += [Finding(visit.label, error) for error in _unexpected(js_errors, visit)]
    assert not findings, "\n".join(map(str, findings))


# --- What axe cannot see --------------------------------------------------------------------------

PIN_SIZES = """() => [...document.querySelectorAll(
    "#map path.leaflet-interactive, #map .leaflet-marker-icon")]
  .map((pin) => { const box = pin.getBoundingClientRect();
    return { width: box.width, height: box.height, fill: pin.getAttribute("fill") }; })"""


def test_map_pins_are_24_px_targets_and_the_legend_names_each_colour(
    page: Page, barcelona: Any
) -> None:
    people(barcelona)  # an open and a verified report in view
    page.goto("/")
    expect(page.locator("#map path.leaflet-interactive")).to_have_count(2)

    pins = page.evaluate(PIN_SIZES)
    legend = page.locator(".pin-legend")
    swatches = {
        item.inner_text().strip(): item.locator(".pin-swatch").evaluate(
            "(swatch) => getComputedStyle(swatch).backgroundColor"
        )
        for item in legend.locator("li").all()
    }

    assert all(pin["width"] >= 24 and pin["height"] >= 24 for pin in pins), pins
    assert {"Open", "Verified", "In progress", "Fixed", "Closed"} <= swatches.keys()
    assert swatches["Open"] == "rgb(198, 40, 40)"  # --pin-open, which the open pin is filled with
    assert {pin["fill"] for pin in pins} == {"#c62828", "#b26a00"}  # open, verified


def test_every_element_the_keyboard_reaches_shows_a_focus_ring(page: Page, barcelona: Any) -> None:
    page.goto("/alerts/")
    rings = []
    for _ in range(14):  # skip link, header links, then the form's fields and button
        page.keyboard.press("Tab")
        rings.append(
            page.evaluate(
                """() => { const e = document.activeElement, s = getComputedStyle(e);
                  return [e.tagName + "#" + (e.id || e.textContent.trim()), s.outlineStyle,
                          parseFloat(s.outlineWidth), s.boxShadow]; }"""
            )
        )

    missing = [r for r in rings if r[1] == "none" or r[2] < 2 or r[3] == "none"]
    assert not missing, missing
    assert len({r[0] for r in rings}) > 10  # the Tab key went somewhere each time


def test_the_keyboard_skips_the_maps_clusters_to_the_report_list(
    page: Page, barcelona: Any
) -> None:
    for row in range(5):  # pairs of reports over Eixample: cluster markers, each a tab stop
        for column in range(6):
            spot = (41.382 + row * 0.008, 2.140 + column * 0.008)
            for _ in range(2):
                factories.report(barcelona.pavement, *spot, title=f"Loose paving {row}-{column}")
    page.goto("/")
    clusters = page.locator("#map .leaflet-marker-icon[tabindex='0']")
    expect(clusters.first).to_be_visible()
    expect(page.locator("#report-list li a").first).to_be_visible()
    assert clusters.count() >= 5  # without the skip link, each stands between filters and list

    page.locator("#hide-fixed").focus()
    page.keyboard.press("Tab")  # the next stop after the filters is the skip link, shown
    skip = page.locator(".skip-map")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["width"] >= 24 and box["height"] >= 24
    page.keyboard.press("Enter")
    expect(page.locator("#list-heading")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#list-sort")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#report-list li a").first).to_be_focused()
