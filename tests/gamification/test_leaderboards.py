"""Leaderboards: periods, areas, net of reversals, opt-in names, own rank, bounded queries."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from gamification import selectors, services
from gamification.models import GameSettings, Rule
from reports import services as report_services
from reports.models import ReportState
from tests import factories

from .helpers import move, verify

S = ReportState


def public(user, name: str) -> None:
    services.player_preferences_set(
        user_id=user.pk, is_playing=True, is_public=True, board_name=name
    )


def test_ties_share_a_rank_and_the_next_rank_skips(city):
    people = factories.UserFactory.create_batch(3)
    for person in people:
        report = factories.report(city.pothole, *city.EAST, reporter=person)
        move(report, S.VERIFIED, city.east_staff)
    verify(city, factories.report(city.pothole, *city.WEST, reporter=people[2]))
    for n, person in enumerate(people):
        public(person, f"P{n}")

    board = selectors.leaderboard(period="all")

    assert [(r.rank, r.name, r.points) for r in board.rows] == [
        (1, "P2", 25),
        (2, "P0", 10),
        (2, "P1", 10),
    ]


def test_boards_are_net_of_reversals_and_ignore_spending(city):
    person = factories.UserFactory.create()
    public(person, "Spender")
    kept = factories.report(city.pothole, *city.WEST, reporter=person)
    spam = factories.report(city.pothole, *city.WEST, reporter=person)
    verify(city, kept)
    verify(city, spam)
    reward = factories.RewardFactory.create(cost=1, stock=1)
    services.points_award(user_id=person.pk, rule="challenge_bonus", amount=40, target=kept)
    services.reward_redeem(reward_id=reward.pk, user_id=person.pk)

    move(spam, S.SPAM, city.west_staff)

    [row] = selectors.leaderboard(period="all").rows
    assert row.points == 15 + 40 - 20  # verified + first in area, the bonus, the spam penalty


def test_the_weekly_board_counts_this_week_and_a_reversal_counts_when_its_award_did(city):
    person = factories.UserFactory.create()
    public(person, "Early bird")
    long_ago = timezone.now() - timedelta(days=40)
    original = factories.report(city.pothole, *city.EAST, at=long_ago - timedelta(days=1))
    old = factories.report(city.pothole, *city.EAST, reporter=person, at=long_ago)
    report_services.report_transition(
        report_id=old.pk, to_state=S.VERIFIED, actor=city.east_staff, at=long_ago
    )
    move(factories.report(city.pothole, *city.EAST, reporter=person), S.VERIFIED, city.east_staff)

    move(old, S.DUPLICATE, city.east_staff, duplicate_of_id=original.pk)  # reversed this week

    assert [r.points for r in selectors.leaderboard(period="week").rows] == [10]
    assert [r.points for r in selectors.leaderboard(period="all").rows] == [10]


def test_people_who_stopped_playing_drop_out_of_every_board(city):
    person = factories.UserFactory.create()
    public(person, "Quitter")
    verify(city, factories.report(city.pothole, *city.WEST, reporter=person))

    services.player_preferences_set(
        user_id=person.pk, is_playing=False, is_public=True, board_name="Quitter"
    )

    assert selectors.leaderboard(period="all").rows == []


def test_a_board_costs_three_queries_however_many_players(city, django_assert_num_queries):
    for n in range(6):
        person = factories.UserFactory.create()
        verify(city, factories.report(city.pothole, *city.WEST, reporter=person))
        public(person, f"P{n}")

    with django_assert_num_queries(3):  # settings, totals, public names
        board = selectors.leaderboard(period="month", area=city.barri)

    assert board.shown and len(board.rows) == 6


def test_an_opted_in_player_far_down_the_ranking_is_still_listed(city, django_assert_num_queries):
    GameSettings.objects.filter(pk=GameSettings.load().pk).update(leaderboard_size=1)
    report = factories.report(city.pothole, *city.WEST)
    people = factories.UserFactory.create_batch(6)
    for n, person in enumerate(people):
        services.points_award(
            user_id=person.pk, rule=Rule.CHALLENGE_BONUS, amount=60 - 10 * n, target=report
        )
    public(people[5], "Sixth")

    with django_assert_num_queries(3):  # settings, totals, public names
        board = selectors.leaderboard(period="all")

    assert [(r.rank, r.name, r.points) for r in board.rows] == [(6, "Sixth", 10)]
