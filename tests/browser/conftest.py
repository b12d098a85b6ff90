"""Browser fixtures: Playwright (sync API) drives Debian's Chromium against the live server.

Playwright's own browser download needs the internet, which CI does not have: we launch the
Chromium that Debian packages (.ci/run installs it). Every page may talk to the live server only;
everything else (map tiles included) is blocked, so the pages are tested without a base map.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from pytest_django.live_server_helper import LiveServer

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parent.parent / "docs" / "screenshots"
# CHROMIUM_PATH lets a developer without Debian's package point at another Chromium build.
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    # Without these, Chromium calls Google (updates, sync, field trials) and logs every refusal.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000  # generous for a loaded CI machine, short enough to fail fast
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
SCREENSHOT_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


# --- Marking and ordering ---------------------------------------------------------------------


def pytest_itemcollected(item: pytest.Item) -> None:
    # Every test in this folder is a browser test, whether or not its author remembered the mark,
    # so `pytest -m "not browser"` never starts Chromium.
    if HERE in item.path.parents:
        item.add_marker(pytest.mark.browser)


@pytest.hookimpl(trylast=True)  # after pytest-django has put transactional tests last
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Browser tests run last, so Playwright's running event loop (see `playwright`) never
    # overlaps another test. The sort is stable: the order is otherwise kept.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


# --- Browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an asyncio event loop *running* in the main thread for as
        # long as it is started, between calls too. Django then takes every ORM call in that
        # thread (the test's factories, pytest-django's flush after each test) for a call from
        # async code and raises SynchronousOnlyOperation. Nothing is async here: the loop only
        # talks to the browser. So the check is switched off, but only while Playwright runs.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        expect.set_options(timeout=TIMEOUT_MS)
        with sync_playwright() as pw:
            yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        # A failure, not a skip: CI installs Chromium, so a missing one is a broken set-up.
        pytest.fail(
            f"Browser tests need Chromium at {CHROMIUM}. Install Debian's package "
            "(apt-get install chromium; .ci/run does it), set CHROMIUM_PATH to another build, "
            'or leave these tests out with: pytest -m "not browser"',
            pytrace=False,
        )
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


# --- JavaScript errors ----------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Every page of every browser test reports each Content-Security-Policy violation (a blocked
# script, style, image, connection...) to the test, which then fails: a page that only works
# with a looser policy cannot slip in. Init scripts and bindings are Playwright's own, outside
# the page's policy.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__fixpointCspViolation({
    directive: event.effectiveDirective, blocked: event.blockedURI, page: document.URL,
    source: event.sourceFile, line: event.lineNumber, sample: event.sample,
    disposition: event.disposition,
  });
});
"""


@dataclass
class JsErrors:
    """Uncaught exceptions, console errors and Content-Security-Policy violations of the test's
    pages, checked after the test."""

    origin: str  # the live server's; console errors about other origins are expected
    messages: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", self._on_page_error)
        page.on("console", self._on_console)

    def watch_csp(self, context: BrowserContext) -> None:
        context.expose_function("__fixpointCspViolation", self._on_csp_violation)
        context.add_init_script(CSP_WATCH)

    def take(self) -> list[str]:
        """The errors so far, forgotten: for a test that provokes and checks errors itself."""
        taken, self.messages = self.messages, []
        return taken

    def _on_csp_violation(self, v: dict[str, Any]) -> None:
        where = f"{v['source']}:{v['line']}" if v.get("source") else "inline"
        self.messages.append(
            f"CSP violation ({v['disposition']}) on {v['page']}: {v['directive']} blocked "
            f"{v['blocked'] or 'inline'} at {where} {v.get('sample') or ''}".rstrip()
        )

    def _on_page_error(self, error: PlaywrightError) -> None:
        self.messages.append(f"uncaught {error.name}: {error.message}")

    def _on_console(self, message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        # Requests to other hosts are blocked (no network), so tiles fail to load by design; a
        # failed load of our own origin (a 404 script, a 500 from a JSON view) is a real error.
        if message.type == "error" and (not url or _origin(url) == self.origin):
            line = message.location.get("lineNumber", 0)
            self.messages.append(f"console error: {message.text} ({url}:{line})")


def _fail_on(errors: JsErrors) -> None:
    if messages := errors.take():
        pytest.fail("JavaScript errors or CSP violations:\n" + "\n".join(messages), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # Checked right after the test body, so errors fail the test itself (not its teardown).
    yield  # raises if the test failed already: then that failure is the one to report
    errors = getattr(item, "funcargs", {}).get("js_errors")
    if isinstance(errors, JsErrors):
        _fail_on(errors)


@pytest.fixture
def js_errors(live_server: LiveServer) -> Iterator[JsErrors]:
    errors = JsErrors(origin=live_server.url)
    yield errors
    _fail_on(errors)  # anything logged after the test body, while its pages closed


# --- Pages ----------------------------------------------------------------------------------------


def _only(origin: str) -> Callable[[Route], None]:
    def handle(route: Route) -> None:
        if _origin(route.request.url) == origin:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    return handle


def new_context(
    browser: Browser, origin: str, *, locale: str = "en-GB", **options: Any
) -> BrowserContext:
    """A context that may talk to `origin` only, in `locale` (its Accept-Language)."""
    context = browser.new_context(
        base_url=origin,  # page.goto("/") opens the live server
        locale=locale,  # Accept-Language picks the page language: fix it, whatever the host's
        timezone_id="Europe/Madrid",
        service_workers="block",  # a service worker's requests would bypass the route below
        **options,
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", _only(origin))
    return context


def _open_page(
    browser: Browser, live_server: LiveServer, js_errors: JsErrors, options: dict[str, Any]
) -> Iterator[Page]:
    context = new_context(browser, live_server.url, **options)
    context.on("page", js_errors.watch)  # popups too, not only the first page
    js_errors.watch_csp(context)
    yield context.new_page()
    # Closed before pytest-django flushes the database, so no request of this test's pages is
    # still being answered by then.
    context.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, js_errors: JsErrors) -> Iterator[Page]:
    """A desktop-sized page (1280x800) on the live server; tests get transactional_db."""
    yield from _open_page(browser, live_server, js_errors, DESKTOP)


@pytest.fixture
def phone_page(browser: Browser, live_server: LiveServer, js_errors: JsErrors) -> Iterator[Page]:
    """A phone-sized touch page (390x844), otherwise like `page`."""
    yield from _open_page(browser, live_server, js_errors, PHONE)


def sign_in(page: Page, origin: str, user: Any | None) -> None:
    """Sign the page's browser in as `user` (None: signed out) with a session made by Django's
    test client: faster than the login form, for tests about other pages."""
    from django.test import Client

    page.context.clear_cookies()
    if user is None:
        return
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": origin}])


def click_to_load(target: Locator) -> None:
    """Click what leads to another page (a link, a form's button) and return once that page has
    loaded: its stylesheets applied and its scripts run. A click returns as soon as the next page
    starts to arrive, and `expect` on what that page shows first passes while it is still
    loading; a test that measures (a position, a width) or takes a screenshot needs it loaded."""
    with target.page.expect_navigation(wait_until="load"):
        target.click()


LANGUAGE_BUTTONS = {"en": "English", "ca": "Català", "es": "Español"}


def switch_language(page: Page, language: str) -> None:
    """Switch the site to `language` with the switcher's button, as a person does, and wait for
    the page it leads back to to have loaded. Its <html lang> is there from the first byte, so
    checking it alone is no wait: CI once measured the staff queue before staff.js had folded the
    bulk bar's controls away, 470 px of them between the filters and the first report."""
    click_to_load(page.get_by_role("button", name=LANGUAGE_BUTTONS[language]))
    expect(page.locator("html")).to_have_attribute("lang", language)


# --- Screenshots ----------------------------------------------------------------------------------


class Screenshot(Protocol):
    def __call__(self, page: Page, name: str, *, full_page: bool = False) -> Path: ...


def save_screenshot(
    page: Page, name: str, *, folder: Path = SCREENSHOTS, full_page: bool = False
) -> Path:
    """Save <folder>/<name>.png: name is lower-case words and dashes."""
    if not SCREENSHOT_NAME.fullmatch(name):
        raise ValueError(f"screenshot name {name!r}: use lower-case letters, digits and dashes")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=full_page, animations="disabled", caret="hide")
    return path


@pytest.fixture
def screenshot(tmp_path: Path) -> Screenshot:
    """Screenshots go to docs/screenshots/ (for the README) only with UPDATE_SCREENSHOTS=1
    (`make screenshots`): they hold dates, so every run would otherwise change tracked files."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path

    def take(page: Page, name: str, *, full_page: bool = False) -> Path:
        return save_screenshot(page, name, folder=folder, full_page=full_page)

    return take
