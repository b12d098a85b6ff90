"""Every main page works under the Content-Security-Policy, in Chromium: the walk below opens
them as the people who use them and fails on any violation (every browser test does too, through
the `js_errors` fixture: see CSP_WATCH in conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from authorities.models import AuthorityCategory
from reports import services
from reports.models import Report, ReportState
from tests import factories
from tests.browser.conftest import sign_in

if TYPE_CHECKING:
    from tests.browser.conftest import JsErrors
    from tests.conftest import Barcelona

EIXAMPLE = (41.3890, 2.1610)


def _settle_without_violations(page: Page, js_errors: JsErrors, path: str) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("() => new Promise((done) => setTimeout(done, 100))")  # late reports arrive
    assert js_errors.take() == [], path


def _open_clean(page: Page, js_errors: JsErrors, path: str, ready: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    policy = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy, (path, policy)
    _settle_without_violations(page, js_errors, path)  # a blocked script fails here, by name
    expect(page.locator(ready).first).to_be_visible()  # the page did its work under the policy
    _settle_without_violations(page, js_errors, path)


@pytest.fixture
def people(barcelona: Barcelona) -> dict[str, object]:
    citizen = factories.UserFactory.create(email="marta@example.org")
    report = factories.report(barcelona.pavement, *EIXAMPLE, reporter=citizen, title="Loose tile")
    inspector = factories.staff(barcelona.districts["eixample"])
    services.report_transition(
        report_id=report.pk, to_state=ReportState.VERIFIED, actor=inspector, public_note="Seen."
    )
    admin = factories.UserFactory.create(is_staff=True, is_superuser=True)
    return {"citizen": citizen, "inspector": inspector, "admin": admin, "report": report}


def test_the_main_pages_work_under_the_content_security_policy(
    page: Page, live_server, js_errors: JsErrors, people: dict[str, object], barcelona: Barcelona
) -> None:
    report = people["report"]
    assert isinstance(report, Report)
    link = AuthorityCategory.objects.filter(authority=report.authority).first()
    assert link is not None
    lat, lon = EIXAMPLE
    walk: dict[str, list[tuple[str, str]]] = {
        "anonymous": [
            ("/", "#map .leaflet-control-zoom"),  # the map: Leaflet's loader ran
            (f"/reports/new/?latitude={lat}&longitude={lon}", "#report-form"),
            (report.get_absolute_url(), "#report-map .leaflet-control-zoom"),
            ("/alerts/", "main form"),
            ("/accounts/login/", "main form"),
            ("/accounts/signup/", "main form"),
            ("/accounts/password/reset/", "main form"),
            ("/leaderboards/", "main h1"),
            ("/challenges/", "main h1"),
            ("/rewards/", "main h1"),
            ("/api/docs/", ".swagger-ui .opblock"),  # Swagger UI drew the operations
        ],
        "citizen": [
            ("/my/reports/", "main h1"),
            (f"/my/reports/{report.ref}/edit/", "main form"),
            ("/me/points/", "#balance"),
            ("/accounts/email/", "main form"),
            ("/accounts/password/change/", "main form"),
        ],
        "inspector": [
            ("/staff/", "#staff-map .leaflet-control-zoom"),
            (f"/staff/reports/{report.pk}/", "#report-map .leaflet-control-zoom"),
            ("/staff/stats/", "#heat-map .leaflet-control-zoom"),
        ],
        "admin": [
            ("/admin/", "#content"),
            ("/admin/reports/report/", "#changelist"),
            (f"/admin/reports/report/{report.pk}/change/", "#report_form"),
            (f"/admin/authorities/authority/{report.authority_id}/change/", "#authority_form"),
            (f"/admin/authorities/authoritycategory/{link.pk}/change/", "#authoritycategory_form"),
        ],
    }

    for who, pages in walk.items():
        user = people.get(who)
        sign_in(page, live_server.url, user if isinstance(user, User) else None)
        for path, ready in pages:
            _open_clean(page, js_errors, path, ready)


def test_a_page_that_breaks_the_policy_fails_its_test(page: Page, js_errors: JsErrors) -> None:
    page.goto("/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
            new Image().src = "https://elsewhere.example/pixel.png";
        }"""
    )
    page.evaluate("() => new Promise((done) => setTimeout(done, 200))")

    caught = "\n".join(js_errors.take())

    assert page.evaluate("() => window.injected") is None  # the inline script did not run
    assert "CSP violation (enforce)" in caught and "script-src-elem blocked inline" in caught
    assert "img-src blocked https://elsewhere.example/pixel.png" in caught
