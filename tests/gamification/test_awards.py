"""Points only for verified facts, exactly once, reversed when the basis goes, within caps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from gamification import services
from gamification.models import GameSettings, Player, PointEntry, Rule
from reports import services as report_services
from reports.models import Opinion, ReportState
from tests import factories

from .helpers import assert_ledger_consistent, balance, move, postgres_only, run_at_once, verify

S = ReportState


@pytest.fixture
def citizen():
    return factories.UserFactory.create()


def test_a_report_verified_by_staff_earns_its_reporter_points_and_first_in_area(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)

    verify(city, report)

    rules = sorted(PointEntry.objects.filter(user=citizen).values_list("rule", "amount"))
    assert rules == [(Rule.FIRST_IN_AREA, 5), (Rule.REPORT_VERIFIED, 10)]
    assert balance(citizen) == 15
    assert_ledger_consistent()


def test_verifying_twice_awards_once(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, report)
    move(report, S.IN_PROGRESS, city.west_staff)

    verify(city, report)

    assert PointEntry.objects.filter(user=citizen, rule=Rule.REPORT_VERIFIED).count() == 1
    assert balance(citizen) == 15


def test_only_the_first_verified_report_in_a_neighbourhood_within_the_window_gets_the_bonus(
    city, citizen
):
    first = factories.report(city.pothole, *city.WEST, reporter=citizen)
    second = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, first)

    verify(city, second)

    assert PointEntry.objects.filter(rule=Rule.FIRST_IN_AREA).get().report == first


def test_a_neighbourhood_quiet_for_longer_than_the_window_gives_the_bonus_again(city, citizen):
    old = factories.report(city.pothole, *city.WEST, reporter=citizen)
    long_ago = timezone.now() - timedelta(days=91)
    report_services.report_transition(
        report_id=old.pk, to_state=S.VERIFIED, actor=city.west_staff, at=long_ago
    )
    new = factories.report(city.pothole, *city.WEST)

    verify(city, new)

    assert PointEntry.objects.filter(rule=Rule.FIRST_IN_AREA, report=new).exists()


def test_nothing_is_earned_by_opening_confirming_or_the_reporter_closing(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    anonymous = factories.report(
        city.pothole, *city.WEST, reporter_name="Ann", reporter_email="a@example.org"
    )
    report_services.report_confirm(report_id=anonymous.pk)

    move(report, S.FIXED, citizen)  # the reporter's own word is not a verified fact

    assert PointEntry.objects.count() == 0


def test_a_fixed_verified_report_earns_its_reporter_more(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, report)

    move(report, S.FIXED, city.west_staff)

    assert PointEntry.objects.filter(user=citizen, rule=Rule.REPORT_FIXED, amount=5).exists()
    assert balance(citizen) == 20


def test_a_report_fixed_without_ever_being_verified_earns_nothing_more(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)

    move(report, S.FIXED, city.west_staff)

    assert balance(citizen) == 0


def test_staff_earn_nothing_from_their_own_authoritys_reports(city):
    report = factories.report(city.pothole, *city.WEST, reporter=city.west_staff)
    elsewhere = factories.report(city.pothole, *city.EAST, reporter=city.west_staff)

    verify(city, report)
    move(elsewhere, S.VERIFIED, city.east_staff)

    assert PointEntry.objects.filter(report=report).count() == 0
    assert PointEntry.objects.filter(report=elsewhere, rule=Rule.REPORT_VERIFIED).exists()


def test_spam_reverses_every_entry_of_the_report_and_costs_a_penalty(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, report)

    move(report, S.SPAM, city.west_staff)

    reversals = PointEntry.objects.filter(rule=Rule.REVERSAL, report=report)
    assert sorted(r.reverses.rule for r in reversals) == [Rule.FIRST_IN_AREA, Rule.REPORT_VERIFIED]
    assert all(r.amount == -r.reverses.amount for r in reversals)
    assert PointEntry.objects.get(rule=Rule.SPAM_PENALTY).amount == -20
    assert balance(citizen) == -20
    assert_ledger_consistent()


def test_spam_twice_costs_one_penalty_and_reverses_once(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, report)
    move(report, S.SPAM, city.west_staff)
    move(report, S.OPEN, city.west_staff)

    move(report, S.SPAM, city.west_staff)

    assert PointEntry.objects.filter(rule=Rule.SPAM_PENALTY).count() == 1
    assert PointEntry.objects.filter(rule=Rule.REVERSAL).count() == 2
    assert_ledger_consistent()


def test_a_duplicate_of_a_report_public_when_it_was_filed_loses_its_points(city, citizen):
    original = factories.report(city.pothole, *city.WEST)
    copy = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, copy)

    move(copy, S.DUPLICATE, city.west_staff, duplicate_of_id=original.pk)

    assert balance(citizen) == 0
    assert PointEntry.objects.filter(rule=Rule.SPAM_PENALTY).count() == 0
    assert_ledger_consistent()


def test_a_duplicate_of_a_report_filed_later_keeps_its_points(city, citizen):
    earlier = factories.report(city.pothole, *city.WEST, reporter=citizen)
    later = factories.report(city.pothole, *city.WEST)
    verify(city, earlier)

    move(earlier, S.DUPLICATE, city.west_staff, duplicate_of_id=later.pk)

    assert balance(citizen) == 15


def test_not_responsible_reverses_nothing(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, report)

    move(report, S.NOT_RESPONSIBLE, city.west_staff)

    assert balance(citizen) == 15
    assert not PointEntry.objects.filter(rule=Rule.REVERSAL).exists()


def test_a_still_there_update_earns_when_staff_later_agree_once_per_person(city, citizen):
    report = factories.report(city.pothole, *city.WEST)
    for text in ("Still there", "Still there, really"):
        report_services.report_update_add(
            report_id=report.pk, author=citizen, text=text, opinion=Opinion.STILL_A_PROBLEM
        )
    assert balance(citizen) == 0

    verify(city, report)
    move(report, S.IN_PROGRESS, city.west_staff)

    assert PointEntry.objects.filter(user=citizen, rule=Rule.CONFIRMATION).count() == 1
    assert balance(citizen) == 3


def test_a_fixed_update_earns_when_staff_mark_the_report_fixed(city, citizen):
    report = factories.report(city.pothole, *city.WEST)
    report_services.report_update_add(
        report_id=report.pk, author=citizen, text="Repaired today", opinion=Opinion.FIXED
    )

    move(report, S.FIXED, city.west_staff)

    assert PointEntry.objects.get(user=citizen, rule=Rule.CONFIRMATION).update is not None


def test_a_fixed_update_staff_disagree_with_earns_nothing(city, citizen):
    report = factories.report(city.pothole, *city.WEST)
    report_services.report_update_add(
        report_id=report.pk, author=citizen, text="Repaired today", opinion=Opinion.FIXED
    )

    verify(city, report)

    assert not PointEntry.objects.filter(user=citizen).exists()


def test_past_the_daily_cap_the_fact_is_recorded_with_no_points(city, citizen):
    game = GameSettings.load()
    game.cap_verified = 2
    game.save()
    reports = [factories.report(city.pothole, *city.EAST, reporter=citizen) for _ in range(3)]

    for report in reports:
        move(report, S.VERIFIED, city.east_staff)

    amounts = list(
        PointEntry.objects.filter(rule=Rule.REPORT_VERIFIED).order_by("id").values_list("amount")
    )
    assert amounts == [(10,), (10,), (0,)]
    assert balance(citizen) == 20
    assert_ledger_consistent()


def test_the_cap_counts_per_day(city, citizen):
    game = GameSettings.load()
    game.cap_verified = 1
    game.save()
    yesterday = timezone.now() - timedelta(days=1)
    old = factories.report(city.pothole, *city.EAST, reporter=citizen, at=yesterday)
    report_services.report_transition(
        report_id=old.pk, to_state=S.VERIFIED, actor=city.east_staff, at=yesterday
    )
    new = factories.report(city.pothole, *city.EAST, reporter=citizen)

    move(new, S.VERIFIED, city.east_staff)

    assert balance(citizen) == 20


def test_points_roll_back_with_the_change_that_caused_them(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)

    with pytest.raises(RuntimeError), transaction.atomic():
        verify(city, report)
        raise RuntimeError("the request failed after verifying")

    assert PointEntry.objects.count() == 0 and balance(citizen) == 0


def test_a_person_who_switched_the_game_off_earns_nothing(city, citizen):
    services.player_preferences_set(user_id=citizen.pk, is_playing=False, is_public=False)
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)

    verify(city, report)

    assert balance(citizen) == 0 and not PointEntry.objects.exists()


def test_with_the_deployment_switch_off_nothing_is_awarded(city, citizen, settings):
    settings.FIXPOINT_GAMIFICATION = False
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)

    verify(city, report)

    assert not PointEntry.objects.exists()


def test_ledger_entries_can_be_neither_edited_nor_deleted(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, report)
    entry = PointEntry.objects.first()

    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        PointEntry.objects.update(amount=1000)


def test_a_reversal_happens_once(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, report)
    entry = PointEntry.objects.get(rule=Rule.REPORT_VERIFIED)

    assert services.points_reverse(entry=entry) is not None
    assert services.points_reverse(entry=entry) is None
    assert balance(citizen) == 5


def test_a_wrong_cached_balance_is_found_and_rebuilt_from_the_ledger(city, citizen):
    report = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, report)
    Player.objects.filter(pk=citizen.pk).update(balance=999)  # a cache gone wrong

    assert services.balances_rebuild() == 1

    assert balance(citizen) == 15
    assert_ledger_consistent()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_staff_verifying_at_the_same_moment_award_once(tiny_city):
    citizen = factories.UserFactory.create()
    colleague = factories.staff(tiny_city.west)
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=citizen)

    results = run_at_once(
        [lambda s=s: move(report, S.VERIFIED, s) for s in (tiny_city.west_staff, colleague) * 3]
    )

    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert PointEntry.objects.filter(rule=Rule.REPORT_VERIFIED).count() == 1
    assert balance(citizen) == 10
    assert_ledger_consistent()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_reports_whose_people_confirmed_each_other_can_be_marked_spam_at_once(tiny_city):
    first, second = factories.UserFactory.create_batch(2)
    reports = []
    for reporter, other in ((first, second), (second, first)):
        report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)
        report_services.report_update_add(
            report_id=report.pk, author=other, text="Still there", opinion=Opinion.STILL_A_PROBLEM
        )
        move(report, S.VERIFIED, tiny_city.west_staff)
        reports.append(report)

    results = run_at_once([lambda r=r: move(r, S.SPAM, tiny_city.west_staff) for r in reports])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert PointEntry.objects.filter(rule=Rule.REVERSAL).count() == 4
    assert balance(first) == balance(second) == -20
    assert_ledger_consistent()
