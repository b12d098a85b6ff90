"""The pages the accessibility walk opens (tests/browser/test_accessibility.py), and the URL
patterns it leaves out, each with its reason.

Every URL pattern of the site is in WALK or in EXCLUDED: tests/config/test_access_walk.py fails
when a new page is in neither, so a page cannot be forgotten. A route is named by its template as
tests/config/fuzzing.routes() writes it ("/reports/{ref}/").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from allauth.account.models import EmailAddress
from django.core import mail
from playwright.sync_api import Page

from accounts.models import User
from gamification import services as game
from reports import notifications, questionnaires, services
from reports.models import Questionnaire, Report, ReportState, Subscription, SubscriptionKind
from tests import factories

EIXAMPLE = (41.3890, 2.1610)
GRACIA = (41.4036, 2.1564)


@dataclass
class People:
    """What the walk's pages show: a citizen with a verified report, an unconfirmed anonymous
    report, an alert, a challenge and a prize, an inspector of the report's district."""

    citizen: User
    inspector: User
    report: Report
    unconfirmed: Report
    alert: Subscription
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self, who: str) -> User | None:
        return {"citizen": self.citizen, "inspector": self.inspector}.get(who)


def people(barcelona: Any) -> People:
    citizen = factories.UserFactory.create(email="marta@example.org", display_name="Marta")
    EmailAddress.objects.create(user=citizen, email=citizen.email, verified=True, primary=True)
    report = factories.report(
        barcelona.pavement, *EIXAMPLE, reporter=citizen, title="Loose paving stones"
    )
    factories.report(barcelona.waste, *GRACIA, title="Overflowing bin")
    inspector = factories.staff(barcelona.districts["eixample"])
    services.report_transition(
        report_id=report.pk, to_state=ReportState.VERIFIED, actor=inspector, public_note="Seen."
    )
    unconfirmed = factories.report(
        barcelona.pavement,
        *EIXAMPLE,
        reporter=None,
        reporter_email="anna@example.org",
        reporter_name="Anna",
    )
    alert = notifications.subscription_create(
        email="anna@example.org", kind=SubscriptionKind.REPORT, report=report
    )
    game.player_preferences_set(
        user_id=citizen.pk, is_playing=True, is_public=True, board_name="Marta from Gràcia"
    )
    factories.ChallengeFactory.create(title="Five verified reports this week")
    factories.RewardFactory.create(title="A month of Bicing", cost=10)
    asked = Questionnaire.objects.create(report=report, state_when_sent=report.state)
    mail.outbox.clear()
    return People(citizen, inspector, report, unconfirmed, alert, {"questionnaire": asked})


@dataclass(frozen=True)
class Visit:
    """One page in one state: `route` is its URL pattern, `path(people)` the address opened by
    `who`; `act` brings it to the state checked (a failed submit), `ready` is a selector shown
    once the page has drawn what scripts add (the map's pins)."""

    route: str
    who: str
    path: Callable[[People], str]
    name: str = ""
    ready: str | None = None
    act: Callable[[Page], None] | None = None
    status: int = 200

    @property
    def label(self) -> str:
        return f"{self.route}{f' ({self.name})' if self.name else ''} as {self.who}"


def _submit_empty(page: Page) -> None:
    """Send the page's main form as it is, past the browser's own checks, to see its errors."""
    form = page.locator("main form[method=post]").last
    form.evaluate("(form) => { form.noValidate = true; }")
    with page.expect_navigation():
        form.locator("[type=submit]").last.click()


def _ref(people: People) -> str:
    return people.report.ref


def _const(path: str) -> Callable[[People], str]:
    return lambda _people: path


PINS = ".leaflet-marker-icon, path.leaflet-interactive"  # Leaflet drew the pins
WALK: list[Visit] = [
    # Anyone
    Visit("/", "anonymous", _const("/"), ready=PINS),
    Visit("/reports/new/", "anonymous", _const("/reports/new/"), name="no place yet"),
    Visit(
        "/reports/new/",
        "anonymous",
        _const(f"/reports/new/?latitude={EIXAMPLE[0]}&longitude={EIXAMPLE[1]}"),
        name="a place chosen, submitted empty",
        act=_submit_empty,
    ),
    Visit(
        "/reports/{ref}/",
        "anonymous",
        lambda p: p.report.get_absolute_url(),
        ready=".leaflet-overlay-pane path",  # the report's own pin, not a link
    ),
    Visit(
        "/reports/confirm/{token}/",
        "anonymous",
        lambda p: f"/reports/confirm/{notifications.report_confirm_token(p.unconfirmed)}/",
    ),
    Visit(
        "/reports/confirm/{token}/",
        "anonymous",
        _const("/reports/confirm/x/"),
        name="a broken link",
        status=404,
    ),
    Visit(
        "/reports/{ref}/",
        "anonymous",
        _const("/reports/NOSUCH/"),
        name="the page-not-found page",
        status=404,
    ),
    Visit("/alerts/", "anonymous", _const("/alerts/")),
    Visit("/alerts/", "anonymous", _const("/alerts/"), name="submitted empty", act=_submit_empty),
    Visit(
        "/alerts/confirm/{token}/",
        "anonymous",
        lambda p: f"/alerts/confirm/{notifications.alert_token(p.alert, 'confirm')}/",
    ),
    Visit(
        "/alerts/unsubscribe/{token}/",
        "anonymous",
        lambda p: f"/alerts/unsubscribe/{notifications.alert_token(p.alert, 'unsubscribe')}/",
    ),
    Visit(
        "/questionnaire/{token}/",
        "anonymous",
        lambda p: (
            "/questionnaire/"
            + questionnaires.questionnaire_token(p.extra["questionnaire"])
            + "/?answer=yes"
        ),
    ),
    Visit("/authorities/", "anonymous", _const("/authorities/")),
    Visit(
        "/authorities/{slug}/",
        "anonymous",
        lambda p: f"/authorities/{p.report.authority.slug}/",
    ),
    Visit("/accessibility/", "anonymous", _const("/accessibility/")),
    Visit("/leaderboards/", "anonymous", _const("/leaderboards/")),
    Visit("/challenges/", "anonymous", _const("/challenges/")),
    Visit("/rewards/", "anonymous", _const("/rewards/")),
    Visit("/players/{user_id}/", "anonymous", lambda p: f"/players/{p.citizen.pk}/"),
    Visit("/accounts/login/", "anonymous", _const("/accounts/login/")),
    Visit(
        "/accounts/login/",
        "anonymous",
        _const("/accounts/login/"),
        name="submitted empty",
        act=_submit_empty,
    ),
    Visit("/accounts/signup/", "anonymous", _const("/accounts/signup/")),
    Visit("/accounts/password/reset/", "anonymous", _const("/accounts/password/reset/")),
    Visit("/accounts/password/reset/done/", "anonymous", _const("/accounts/password/reset/done/")),
    Visit(
        "/accounts/password/reset/key/{uidb36}-{key}/",
        "anonymous",
        _const("/accounts/password/reset/key/1-bad/"),
        name="an expired link",
    ),
    Visit(
        "/accounts/password/reset/key/done/",
        "anonymous",
        _const("/accounts/password/reset/key/done/"),
    ),
    Visit("/accounts/confirm-email/", "anonymous", _const("/accounts/confirm-email/")),
    Visit(
        "/accounts/confirm-email/{key}/",
        "anonymous",
        _const("/accounts/confirm-email/bad/"),
        name="an expired link",
    ),
    Visit("/accounts/inactive/", "anonymous", _const("/accounts/inactive/")),
    Visit("/privacy/", "anonymous", _const("/privacy/")),
    # A citizen
    Visit("/my/reports/", "citizen", _const("/my/reports/")),
    Visit("/my/reports/{ref}/edit/", "citizen", lambda p: f"/my/reports/{p.report.ref}/edit/"),
    Visit(
        "/my/reports/{ref}/withdraw/",
        "citizen",
        lambda p: f"/my/reports/{p.report.ref}/withdraw/",
    ),
    Visit("/me/points/", "citizen", _const("/me/points/")),
    Visit("/my/data/", "citizen", _const("/my/data/")),
    Visit("/my/delete/", "citizen", _const("/my/delete/")),
    Visit(
        "/my/delete/",
        "citizen",
        _const("/my/delete/"),
        name="submitted empty",
        act=_submit_empty,
    ),
    Visit("/accounts/email/", "citizen", _const("/accounts/email/")),
    Visit("/accounts/password/change/", "citizen", _const("/accounts/password/change/")),
    Visit("/accounts/reauthenticate/", "citizen", _const("/accounts/reauthenticate/")),
    Visit("/accounts/logout/", "citizen", _const("/accounts/logout/")),
    # Council staff
    Visit("/staff/", "inspector", _const("/staff/"), ready=PINS),
    Visit("/staff/reports/{pk}/", "inspector", lambda p: f"/staff/reports/{p.report.pk}/"),
    Visit("/staff/stats/", "inspector", _const("/staff/stats/")),
    Visit("/staff/reports/new/", "inspector", _const("/staff/reports/new/")),
]

# URL patterns that are not pages to check, or pages checked under another route.
POST_ONLY = "a POST answered with a redirect to a page in the walk"
MACHINE = "data for programs (JSON, CSV, XML, Atom), not a page people read"
EXCLUDED_PREFIXES: dict[str, str] = {
    "/admin/": "Django's admin (the issue leaves it out); its own accessibility is Django's",
    "/api/": "the REST API and its schema, for programs; /api/docs/ is Swagger UI's own page",
    "/open311/": MACHINE,
    "/media/": "uploaded photos, served as files (by Django only when DEBUG is on)",
}
EXCLUDED: dict[str, str] = {
    "/healthz": MACHINE,
    "/favicon.ico": "the site's icon, an image",
    "/.well-known/security.txt": "plain text for security researchers (RFC 9116), not a page",
    "/i18n/setlang/": POST_ONLY + " (Django's set_language: back to the page it came from)",
    "/i18n/js/": "the JavaScript translation catalogue, a script",
    "/authorities/{slug}/performance.csv": MACHINE,
    "/site-messages/{pk}/dismiss/": POST_ONLY,
    "/locate.json": MACHINE,
    "/nearby.json": MACHINE,
    "/search.json": MACHINE,
    "/boundaries.json": MACHINE,
    "/photo-gps.json": MACHINE,
    "/map/list.json": MACHINE,
    "/map/reports.json": MACHINE,
    "/reports/new/draft/": "a POST from the filing page's script (offline drafts), in JSON",
    "/sw.js": "the service worker, a script",
    "/manifest.webmanifest": MACHINE,
    "/reports/{ref}/feed/": MACHINE,
    "/staff/export.csv": MACHINE,
    "/reports/{ref}/update/": POST_ONLY,
    "/reports/{ref}/support/": POST_ONLY,
    "/reports/{ref}/subscribe/": POST_ONLY,
    "/reports/confirm/{token}/account/": POST_ONLY,
    "/my/reports/{ref}/withdraw/undo/": POST_ONLY,
    "/my/hide-name/": POST_ONLY,
    "/staff/bulk/": POST_ONLY,
    "/rewards/{reward_id}/redeem/": POST_ONLY,
    "/me/points/preferences/": POST_ONLY,
    "/accounts/password/set/": (
        "redirects to /accounts/password/change/ for anyone with a password (every account "
        "made here has one); the same form"
    ),
    "/accounts/reauthenticate/code/": "login by e-mailed code is switched off (allauth setting)",
    "/accounts/reauthenticate/code/confirm/": "login by e-mailed code is switched off",
    "/accounts/login/code/confirm/": "login by e-mailed code is switched off",
}
