"""On the street with no signal (issue 16), in Chromium with the service worker on: the filing
page comes from the worker's cache, a report sent offline is kept on the device and listed, and
back online it is sent once; a retry of the same draft, or a retry after an answer lost on the
way, files nothing more."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, Route, expect

from reports.models import Report, ReportPhoto, ReportState
from tests import factories
from tests.browser.conftest import DESKTOP, PHONE, TIMEOUT_MS, JsErrors, _only, sign_in

SPOT = (41.39165, 2.16490)  # Passeig de Gràcia, Eixample


@pytest.fixture
def offline_context(
    browser: Browser, live_server: Any, js_errors: JsErrors
) -> Iterator[BrowserContext]:
    """Like the other tests' contexts, but with service workers allowed (they are blocked there,
    since a worker's requests would escape the route that keeps pages on the live server; ours
    only ever asks the live server)."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-GB",
        timezone_id="Europe/Madrid",
        service_workers="allow",
        **PHONE,
    )
    # Installing the worker fetches the filing page and its files once more: on a loaded
    # machine a first visit takes longer than the other tests' pages.
    context.set_default_timeout(TIMEOUT_MS * 3)
    context.route("**/*", _only(live_server.url))
    context.on("page", js_errors.watch)
    js_errors.watch_csp(context)
    yield context
    context.close()


# What a page cannot load with no network (the reports around the pin, the address): expected
# while offline; anything else (a script error, a policy violation) still fails the test.
OFFLINE_FAILURE = re.compile(
    r"console error: Failed to load resource: "
    r"net::ERR_(INTERNET_DISCONNECTED|FAILED|CONNECTION_RESET)"
)


def _forgive_offline_failures(js_errors: JsErrors) -> None:
    for message in js_errors.take():
        if not OFFLINE_FAILURE.match(message):
            js_errors.messages.append(message)


def _photo() -> FilePayload:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(buffer, "JPEG")
    return FilePayload(name="slab.jpg", mimeType="image/jpeg", buffer=buffer.getvalue())


def _open_filing_page_with_the_worker(page: Page) -> None:
    page.goto(f"/reports/new/?latitude={SPOT[0]}&longitude={SPOT[1]}")
    # The worker has kept the page and its files once it controls the page.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => caches.keys().then(k => k.length > 0)")


def _fill(page: Page, title: str, *, anonymous: bool = True) -> None:
    page.get_by_label("Category").select_option("pavement")
    page.get_by_label("Title").fill(title)
    page.get_by_label("What is the problem?").fill("It rocks when you step on it.")
    page.get_by_label("Photos (up to 3").set_input_files(_photo())
    if anonymous:
        page.get_by_label("Your name").fill("Núria")
        page.get_by_label("Your e-mail").fill("nuria@example.org")


def test_a_report_written_offline_is_kept_listed_and_sent_once_when_back_online(
    offline_context: BrowserContext, barcelona, live_server, screenshot, js_errors
):
    page = offline_context.new_page()
    _open_filing_page_with_the_worker(page)

    offline_context.set_offline(True)
    page.reload()  # from the worker's cache: there is no network
    expect(page.get_by_text("You are offline. You can still write your report")).to_be_visible()
    _fill(page, "Loose paving slab")
    page.get_by_role("button", name="Send report").click()

    drafts = page.get_by_role("list", name="Waiting to be sent")
    expect(drafts.get_by_role("listitem")).to_have_count(1)
    expect(drafts).to_contain_text("Loose paving slab")
    expect(drafts).to_contain_text("Pavement")
    expect(drafts).to_contain_text("1 photo")
    expect(drafts).to_contain_text("Waiting for a connection.")
    expect(page.get_by_label("Title")).to_have_value("")  # ready for the next one
    screenshot(page, "offline-draft-phone")
    assert not Report.objects.exists()
    kept = page.evaluate("() => FixpointDrafts.all().then(d => { window.__kept = d; return d; })")
    assert len(kept) == 1 and ["title", "Loose paving slab"] in kept[0]["fields"]

    _forgive_offline_failures(js_errors)
    offline_context.set_offline(False)

    expect(page.get_by_role("list", name="Sent", exact=True)).to_contain_text(
        "“Loose paving slab” was sent. Follow the link we have e-mailed you"
    )
    expect(drafts).to_be_hidden()
    report = Report.objects.get()
    assert report.state == ReportState.UNCONFIRMED
    assert (report.latitude, report.longitude) == pytest.approx(SPOT, abs=1e-5)
    assert ReportPhoto.objects.filter(report=report).count() == 1
    assert len(mail.outbox) == 1

    # The same draft again (a second tab, a lost answer): the first answer, nothing new.
    assert page.evaluate("() => FixpointDrafts.send(window.__kept[0])") == "sent"
    assert Report.objects.count() == 1 and len(mail.outbox) == 1

    link = re.search(r"https?://\S+/reports/confirm/\S+/", str(mail.outbox[0].body))
    assert link and link.group(0).startswith(live_server.url)
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Your report is confirmed")).to_be_visible()


def test_an_answer_lost_on_the_way_is_asked_again_and_files_nothing_more(
    offline_context: BrowserContext, barcelona, live_server, js_errors
):
    citizen = factories.UserFactory.create()
    page = offline_context.new_page()
    page.set_viewport_size(DESKTOP["viewport"])
    sign_in(page, live_server.url, citizen)
    _open_filing_page_with_the_worker(page)
    offline_context.set_offline(True)
    _fill(page, "Broken kerb", anonymous=False)
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("list", name="Waiting to be sent")).to_contain_text("Broken kerb")

    lost: list[int] = []

    def lose_the_first_answer(route: Route) -> None:
        if lost:
            route.continue_()
            return
        answer = route.fetch()  # the server files it ...
        lost.append(answer.status)
        route.abort("connectionreset")  # ... and the answer never arrives

    page.route("**/reports/new/draft/", lose_the_first_answer)
    with page.expect_event("requestfailed", lambda r: "/reports/new/draft/" in r.url):
        offline_context.set_offline(False)
    expect(page.locator(".draft-state")).to_have_text("Waiting to be sent.")
    _forgive_offline_failures(js_errors)
    assert lost == [201] and Report.objects.count() == 1

    page.get_by_role("button", name="Send now").click()

    sent = page.get_by_role("list", name="Sent", exact=True)
    expect(sent).to_contain_text("“Broken kerb” was sent to Eixample.")
    _forgive_offline_failures(js_errors)  # the answer cut on purpose
    report = Report.objects.get()
    assert report.reporter == citizen and report.state == ReportState.OPEN
    sent.get_by_role("link", name="See it").click()
    expect(page.get_by_role("heading", name="Broken kerb")).to_be_visible()


def test_a_draft_can_be_discarded(offline_context: BrowserContext, barcelona, js_errors):
    page = offline_context.new_page()
    _open_filing_page_with_the_worker(page)
    offline_context.set_offline(True)
    _fill(page, "Never mind")
    page.get_by_role("button", name="Send report").click()
    drafts = page.get_by_role("list", name="Waiting to be sent")
    expect(drafts).to_contain_text("Never mind")

    drafts.get_by_role("button", name="Discard").click()

    expect(page.locator("#drafts-status")).to_have_text("“Never mind” was discarded.")
    expect(drafts).to_be_hidden()
    _forgive_offline_failures(js_errors)
    offline_context.set_offline(False)
    page.reload()
    expect(page.get_by_role("list", name="Waiting to be sent")).to_be_hidden()
    assert not Report.objects.exists()
