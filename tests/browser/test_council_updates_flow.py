"""Citizens' updates reaching the council, in a real browser: on a delivered report's page a
neighbour adds a comment and the reporter, once the council has marked it fixed, reopens it with
the reason (on a phone); each shows on the page, and each reaches the council by e-mail threaded
under the report's own; the authority's staff then see both on their work page."""

from __future__ import annotations

from django.core import mail
from playwright.sync_api import Page, expect

from authorities.models import AuthorityCategory
from reports.models import Report, ReportState
from reports.services import report_transition
from tests import factories

from .conftest import sign_in

EIXAMPLE = (41.3890, 2.1610)
COUNCIL = "eixample@council.example.org"


def to_council(kind: str) -> list[mail.EmailMessage]:
    """What the council got: report e-mails (kind "Delivery") or citizens' updates ("Update")."""
    return [m for m in mail.outbox if f"X-Fixpoint-{kind}" in m.extra_headers]


def test_a_comment_and_a_reopening_show_on_the_page_and_reach_the_council_in_its_thread(
    page: Page, phone_page: Page, barcelona, live_server, screenshot
):
    eixample = barcelona.districts["eixample"]
    AuthorityCategory.objects.filter(authority=eixample, category=barcelona.pavement).update(
        email=COUNCIL, send_updates=True
    )
    marta = factories.UserFactory.create(email="marta@example.org", display_name="Marta Puig")
    jordi = factories.UserFactory.create(email="jordi@example.org", display_name="Jordi Vila")
    report = factories.report(
        barcelona.pavement,
        *EIXAMPLE,
        reporter=marta,
        title="Loose paving stones",
        description="Three loose stones outside number 43; one rocks when you step on it.",
    )
    [original] = to_council("Delivery")
    thread = original.extra_headers["Message-ID"]

    # A neighbour adds a comment, signed in, on a desktop.
    sign_in(page, live_server.url, jordi)
    page.goto(report.get_absolute_url())
    page.get_by_label("Your update").fill("A second stone came loose this morning.")
    page.get_by_label("Show my name publicly").check()
    page.get_by_role("button", name="Post update").click()
    expect(page.locator(".messages")).to_contain_text("Thank you for your update.")
    updates = page.locator(".updates")
    expect(updates).to_contain_text("A second stone came loose this morning.")
    expect(updates).to_contain_text("Jordi Vila")
    screenshot(page, "update-comment-posted", full_page=True)

    [comment] = to_council("Update")
    assert comment.to == [COUNCIL] and comment.subject.startswith(f"Re: [{report.ref}]")
    assert comment.extra_headers["In-Reply-To"] == thread == comment.extra_headers["References"]
    assert "A second stone came loose this morning." in str(comment.body)
    assert "Jordi Vila" in str(comment.body)

    # The council marks it fixed; the reporter, on her phone, says it is still a problem.
    report_transition(
        report_id=report.pk,
        to_state=ReportState.FIXED,
        actor=factories.staff(eixample),
        public_note="Stones re-laid.",
    )
    sign_in(phone_page, live_server.url, marta)
    phone_page.goto(report.get_absolute_url())
    phone_page.get_by_label("Your update").fill("Only one was re-laid; two still rock.")
    phone_page.get_by_label("Is it fixed?").select_option(label="This is still a problem")
    phone_page.get_by_role("button", name="Post update").click()
    expect(phone_page.locator(".messages")).to_contain_text("Thank you for your update.")
    expect(phone_page.locator(".updates")).to_contain_text("Only one was re-laid; two still rock.")
    assert Report.objects.get(pk=report.pk).state == ReportState.OPEN
    screenshot(phone_page, "update-reopened-phone", full_page=True)

    comment, reopening = to_council("Update")
    assert reopening.extra_headers["In-Reply-To"] == thread
    assert "Only one was re-laid; two still rock." in str(reopening.body)
    assert len(to_council("Delivery")) == 1  # the report itself was sent once

    # The authority's staff see both on their work page, and that both reached the authority.
    sign_in(page, live_server.url, factories.staff(eixample))
    page.goto(f"/staff/reports/{report.pk}/")
    work = page.locator("main")
    expect(work).to_contain_text("A second stone came loose this morning.")
    expect(work).to_contain_text("Only one was re-laid; two still rock.")
    sent = page.locator("tr.update-delivery")
    expect(sent).to_have_count(2)
    expect(sent.nth(0)).to_contain_text("Eixample · E-mail · A comment")
    expect(sent.nth(1)).to_contain_text("Eixample · E-mail · Reopened by the reporter")
    expect(sent.nth(1)).to_contain_text("Sent")
    # The whole page at once: in a full-page capture the sticky "Save changes" bar would sit
    # over the form at the first screen's bottom edge.
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": height})
    screenshot(page, "update-staff-work-page")
