"""The statistics page in a real browser, with no map tiles: figures, the backlog chart, the heat
map drawn from grid cells, and the numbers behind the chart. Screenshot: staff-stats."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from reports import services
from reports.models import Report
from reports.staff.services import staff_account_set
from tests import factories

PASSWORD = "stats-password-42"
PLACES = [  # (lat, lon) inside districts of Barcelona, busiest first
    (41.3890, 2.1610),  # Eixample
    (41.3826, 2.1769),  # Ciutat Vella
    (41.4036, 2.1569),  # Gràcia
    (41.4036, 2.1970),  # Sant Martí
    (41.3750, 2.1420),  # Sants-Montjuïc
    (41.4300, 2.1600),  # Horta-Guinardó
]


def _a_month_of_reports(barcelona, staff) -> int:
    rng = random.Random(6)
    now = timezone.now()
    made = 0
    for place, (lat, lon) in enumerate(PLACES):
        for _ in range(12 - 2 * place):
            filed = now - timedelta(days=rng.uniform(1, 29))
            category = barcelona.pavement if rng.random() < 0.8 else barcelona.waste
            report = factories.report(
                category, lat + rng.gauss(0, 0.002), lon + rng.gauss(0, 0.002), at=filed
            )
            made += 1
            if rng.random() < 0.7:
                verified = filed + timedelta(hours=rng.uniform(1, 30))
                services.report_transition(
                    report_id=report.pk, to_state="verified", actor=staff, at=verified
                )
                if rng.random() < 0.6 and verified + timedelta(days=3) < now:
                    services.report_transition(
                        report_id=report.pk, to_state="fixed", actor=staff,
                        at=verified + timedelta(days=rng.uniform(0.5, 3)),
                    )  # fmt: skip
    return made


def test_the_statistics_page_draws_its_charts_without_tiles(page: Page, barcelona, screenshot):
    admin = staff_account_set(
        email="admin@stats.example.org", authority=barcelona.city, role="administrator",
        password=PASSWORD,
    ).user  # fmt: skip
    User.objects.filter(pk=admin.pk).update(is_superuser=True)  # sees every authority
    admin.refresh_from_db()
    made = _a_month_of_reports(barcelona, admin)
    supports = 0
    for n, report in enumerate(Report.objects.filter(state="open")[:8]):
        for fan in range(n % 3 + 1):
            supports += services.support_add(report_id=report.pk, email=f"fan{n}.{fan}@example.org")

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.goto("/staff/stats/")

    expect(page.locator("#total-received")).to_have_text(str(made))
    expect(page.locator("#category-table tbody tr")).to_have_count(2)
    expect(page.locator("#backlog-chart polyline")).to_have_count(1)
    expect(page.locator("#heat-map")).not_to_have_attribute("data-cells", "0")
    expect(page.locator("#heat-map path.leaflet-interactive").first).to_be_visible()
    expect(page.locator("#total-supports")).to_have_text(str(supports))
    screenshot(page, "staff-stats", full_page=True)
    page.get_by_text("The numbers behind the chart").click()
    expect(page.locator("#backlog-table tbody tr")).to_have_count(30)

    page.locator("#id_authority").select_option(label="Eixample")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_have_text("Statistics: Eixample")


def test_on_a_phone_the_tables_keep_their_headers(phone_page: Page, barcelona):
    admin = staff_account_set(
        email="admin@stats.example.org", authority=barcelona.city, role="administrator",
        password=PASSWORD,
    ).user  # fmt: skip
    factories.report(barcelona.waste, *PLACES[0])

    phone_page.goto("/accounts/login/")
    phone_page.get_by_label("Email").fill(admin.email)
    phone_page.get_by_label("Password").fill(PASSWORD)
    phone_page.get_by_role("button", name="Sign In").click()
    phone_page.goto("/staff/stats/")

    expect(phone_page.locator("#category-table thead th").first).to_be_visible()
    expect(phone_page.locator("#category-table tbody th")).to_have_text("Waste")
