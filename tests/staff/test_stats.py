"""The statistics page: exact figures on a known data set, scoping, the rollup on PostgreSQL."""

from __future__ import annotations

import statistics as stdlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from reports import services
from reports.delivery import report_reroute
from reports.models import Report, StatsDay, Support
from reports.staff import stats
from reports.staff.stats import Period, percentile_cont
from tests import factories

HOUR, DAY = 3600.0, 86400.0
URL = "/staff/stats/"
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the rollup's triggers exist on PostgreSQL only"
)


@dataclass
class Known:
    """Five West reports 20 to 16 days ago with known times, an older open one, two East ones,
    and reports that must count nowhere (unconfirmed, spam)."""

    city: Any
    west_reports: list[Report]
    base: datetime


def _at(report: Report, state: str, at: datetime, actor: Any) -> None:
    services.report_transition(report_id=report.pk, to_state=state, actor=actor, at=at)


@pytest.fixture
def known(tiny_city: Any) -> Known:
    today = timezone.localdate()
    base = timezone.make_aware(datetime.combine(today - timedelta(days=20), datetime.min.time()))
    base += timedelta(hours=9)
    staff = tiny_city.west_staff
    factories.report(tiny_city.pothole, *tiny_city.WEST, at=base - timedelta(days=40))  # backlog
    verify_hours = [1, 2, 3, 4, 10]
    fix_days = [1, 2, 5, None, None]
    west = []
    for i, (hours, days) in enumerate(zip(verify_hours, fix_days, strict=True)):
        filed = base + timedelta(days=i)
        report = factories.report(tiny_city.pothole, *tiny_city.WEST, at=filed)
        _at(report, "verified", filed + timedelta(hours=hours), staff)
        if days is not None:
            _at(report, "fixed", filed + timedelta(days=days), staff)
        west.append(report)
    _at(west[3], "closed", base + timedelta(days=3, hours=6), staff)
    for i in range(2):  # East: a fast verification that must never show in West's figures
        east = factories.report(tiny_city.pothole, *tiny_city.EAST, at=base + timedelta(days=i))
        _at(east, "verified", base + timedelta(days=i, minutes=1), tiny_city.east_staff)
    factories.report(tiny_city.pothole, *tiny_city.WEST, reporter_email="a@example.org",
                     reporter_name="A", at=base)  # fmt: skip
    spam = factories.report(tiny_city.pothole, *tiny_city.WEST, at=base)
    _at(spam, "spam", base + timedelta(hours=1), staff)
    for n in range(3):
        services.support_add(report_id=west[4].pk, email=f"fan{n}@example.org")
    return Known(tiny_city, west, base)


def _last_30_days() -> Period:
    today = timezone.localdate()
    return Period(today - timedelta(days=29), today)


def test_percentile_cont_interpolates_like_postgresql_and_the_standard_library():
    values = sorted([1.0, 2.0, 3.0, 4.0, 10.0, 7.5, 0.5])
    deciles = stdlib.quantiles(values, n=10, method="inclusive")

    assert percentile_cont(values, 0.5) == stdlib.median(values)
    assert percentile_cont(values, 0.9) == pytest.approx(deciles[8])
    assert percentile_cont([4.0], 0.9) == 4.0
    assert percentile_cont([], 0.5) is None


def test_counts_medians_and_90th_percentiles_of_a_known_data_set(known):
    figures = stats.statistics(authority_ids=[known.city.west.pk], period=_last_30_days())

    total = figures.total
    assert (total.received, total.verified, total.fixed, total.closed) == (5, 5, 3, 1)
    assert total.supports == 3
    assert total.to_verify[0.5] == pytest.approx(3 * HOUR)
    assert total.to_verify[0.9] == pytest.approx(7.6 * HOUR)  # 4 h + 0.6 x (10 h - 4 h)
    assert total.to_fix[0.5] == pytest.approx(2 * DAY)
    assert total.to_fix[0.9] == pytest.approx(4.4 * DAY)  # 2 d + 0.8 x (5 d - 2 d)
    [pothole] = figures.categories
    assert (pothole.name, pothole.received, pothole.to_fix) == ("Pothole", 5, total.to_fix)


def test_backlog_starts_from_earlier_reports_and_follows_each_day(known):
    figures = stats.statistics(authority_ids=[known.city.west.pk], period=_last_30_days())

    by_day = {point.bucket: point for point in figures.backlog}
    first = timezone.localtime(known.base).date()
    assert len(figures.backlog) == 30
    assert [by_day[first + timedelta(days=d)].backlog for d in range(8)] == [2, 2, 3, 2, 3, 3, 3, 2]
    assert by_day[first + timedelta(days=3)].resolved == 2  # r2 fixed and r4 closed that day
    assert (
        figures.backlog[-1].backlog
        == Report.objects.filter(authority=known.city.west, state__in=["open", "verified"]).count()
    )


def test_a_period_before_anything_happened_has_no_figures_and_a_flat_backlog(known):
    long_ago = timezone.localdate() - timedelta(days=400)
    figures = stats.statistics(
        authority_ids=[known.city.west.pk], period=Period(long_ago, long_ago + timedelta(days=9))
    )

    assert figures.categories == [] and figures.total.received == 0
    assert figures.total.to_verify == {0.5: None, 0.9: None}
    assert [p.backlog for p in figures.backlog] == [0] * 10
    assert figures.heat == []


def test_periods_longer_than_a_quarter_are_drawn_by_week_and_past_two_years_by_month(known):
    today = timezone.localdate()
    weeks = stats.statistics(authority_ids=None, period=Period(today - timedelta(days=364), today))
    months = stats.statistics(
        authority_ids=None, period=Period(today - timedelta(days=1000), today)
    )

    assert all(p.bucket.weekday() == 0 for p in weeks.backlog)
    assert all(p.bucket.day == 1 for p in months.backlog)
    assert weeks.total.received == months.total.received == 8  # 1 old + 5 West + 2 East
    assert weeks.backlog[-1].backlog == months.backlog[-1].backlog


def test_the_heat_map_counts_reports_received_per_grid_cell(known):
    figures = stats.statistics(authority_ids=None, period=_last_30_days())

    assert sum(cell.count for cell in figures.heat) == 7  # West's five and East's two
    west = next(c for c in figures.heat if c.west <= known.city.WEST[1] < c.east)
    assert west.count == 5 and west.south <= known.city.WEST[0] < west.north


def test_statistics_cost_a_fixed_number_of_queries(known, django_assert_num_queries):
    # rollup (2) + percentiles (1) + names (1) + heat (1); SQLite: reports (1) + supports (1)
    # + buckets (2) + durations (2) + names (1) + heat (1)
    expected = 5 if stats.uses_rollup() else 8
    with django_assert_num_queries(expected):
        stats.statistics(authority_ids=None, period=_last_30_days())


# --- the page ------------------------------------------------------------------------------------


def test_district_staff_see_only_their_district(client, known):
    client.force_login(known.city.west_staff)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.context["stats"].total.received == 5
    assert response.context["total"]["verify_median"] == "3.0 h"
    html = response.content.decode()
    assert '<dd id="total-received">5</dd>' in html
    assert "backlog-chart" in html and 'id="heat-cells"' in html
    assert "1 min" not in html and "East" not in html  # East's one-minute verifications


def test_a_superuser_sees_every_authority_and_can_pick_one(client, known):
    admin = factories.UserFactory.create(is_superuser=True, is_staff=True)
    client.force_login(admin)

    everything = client.get(URL)
    east = client.get(URL, {"authority": known.city.east.pk})

    assert everything.context["stats"].total.received == 7
    assert "All authorities" in everything.content.decode()
    assert east.context["stats"].total.received == 2
    assert east.context["total"]["verify_median"] == "1 min"


@pytest.mark.parametrize("guess", ["east", "999999", "abc", "-1"])
def test_guessing_another_authority_is_not_found(client, known, guess):
    client.force_login(known.city.west_staff)
    value = known.city.east.pk if guess == "east" else guess

    response = client.get(URL, {"authority": value})

    assert response.status_code == 404
    assert b"East" not in response.content


def test_citizens_are_refused_and_visitors_sent_to_log_in(client, known):
    anonymous = client.get(URL)
    client.force_login(factories.UserFactory.create())
    citizen = client.get(URL)

    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert citizen.status_code == 403


def test_presets_and_custom_dates_choose_the_period(client, known):
    client.force_login(known.city.west_staff)
    first = timezone.localtime(known.base).date()

    week = client.get(URL, {"preset": "7d"})
    custom = client.get(URL, {"date_from": first, "date_to": first + timedelta(days=1)})

    year = client.get(URL, {"preset": "12m"})
    assert "at the end of each week" in year.content.decode()
    assert week.context["stats"].total.received == 0
    assert custom.context["stats"].period.days == 2
    assert custom.context["stats"].total.received == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2026-13-01", "date_to": "2026-01-01"}, "Enter a valid date"),
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "must start before it ends"),
        ({"preset": "custom"}, "Give both dates"),
        ({"date_from": "2010-01-01", "date_to": "2026-01-01"}, "at most five years"),
    ],
)
def test_bad_periods_get_a_clear_error_and_the_default_period(client, known, params, message):
    client.force_login(known.city.west_staff)

    response = client.get(URL, params)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["stats"].period.days == 30


def test_the_page_costs_a_fixed_number_of_queries(client, known, django_assert_num_queries):
    client.force_login(known.city.west_staff)
    client.get(URL)  # warm the session
    figures = 5 if stats.uses_rollup() else 8
    # session, user, is staff, authorities (ids), the selector's options, base.html's points
    with django_assert_num_queries(figures + 6):
        response = client.get(URL, {"preset": "90d"})
    assert response.status_code == 200


def test_the_url_is_the_staff_namespace():
    assert reverse("staff:stats") == URL


# --- the rollup (PostgreSQL) ---------------------------------------------------------------------


def _rollup() -> set[tuple[Any, ...]]:
    return {
        (row.day, row.authority_id, row.category_id, row.kind, row.n)
        for row in StatsDay.objects.exclude(n=0)
    }


@postgres_only
def test_the_rollup_kept_by_triggers_equals_a_rebuild_after_reopens_reroutes_and_deletes(known):
    city, staff = known.city, known.city.west_staff
    first = known.west_reports[0]
    services.report_transition(report_id=first.pk, to_state="open", actor=staff)  # reopened
    fans = Support.objects.filter(report=known.west_reports[4]).order_by("pk")
    Support.objects.filter(pk=fans[0].pk).update(report=first)  # merged into another report
    Support.objects.filter(pk=fans[1].pk).delete()
    report_reroute(report_id=known.west_reports[4].pk, category=city.bins, actor=staff)
    for state in ("open", "spam"):
        services.report_transition(report_id=known.west_reports[1].pk, to_state=state, actor=staff)
    Report.objects.get(pk=known.west_reports[2].pk).delete()
    by_triggers = _rollup()

    stats.stats_rollup_rebuild()

    assert by_triggers == _rollup()


@postgres_only
def test_figures_from_the_rollup_equal_figures_from_the_reports(known):
    staff = known.city.west_staff
    services.report_transition(report_id=known.west_reports[0].pk, to_state="open", actor=staff)
    period, ids = _last_30_days(), [known.city.west.pk]
    reports = stats.counted_reports(ids)

    rolled = stats._from_rollup(ids, period)
    counted = stats._from_reports(reports, ids, period)

    assert rolled == counted
    assert rolled.counts[known.city.pothole.pk]["fixed"] == 2  # the reopen took one fix away
