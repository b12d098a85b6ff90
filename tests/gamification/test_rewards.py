"""Redeeming prizes: atomic, within stock, limits and balance, even under concurrent requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gamification import services
from gamification.exceptions import (
    GamificationOff,
    LimitReached,
    NotEnoughPoints,
    OutOfStock,
    RewardUnavailable,
)
from gamification.models import PointEntry, Redemption, Reward, Rule
from reports.models import Report
from tests import factories

from .helpers import assert_ledger_consistent, balance, postgres_only, run_at_once


def give_points(user_id: int, amount: int) -> None:
    """A real award, through the ledger, tied to a report of nobody's in particular."""
    report = Report.objects.order_by("id").first()
    assert report is not None
    services.points_award(
        user_id=user_id,
        rule=Rule.CHALLENGE_BONUS,
        amount=amount,
        target=report,
        key_detail=f"test-{amount}",
    )


@pytest.fixture
def rich(city):
    factories.report(city.pothole, *city.WEST)
    user = factories.UserFactory.create()
    give_points(user.pk, 30)
    return user


def test_redeeming_debits_the_cost_takes_one_from_stock_and_gives_a_unique_code(rich):
    reward = factories.RewardFactory.create(cost=10, stock=2, per_user_limit=2)

    first = services.reward_redeem(reward_id=reward.pk, user_id=rich.pk)
    second = services.reward_redeem(reward_id=reward.pk, user_id=rich.pk)

    assert first.code != second.code and len(first.code) == 14
    assert balance(rich) == 10
    assert Reward.objects.get().stock == 0
    debit = PointEntry.objects.get(redemption=first)
    assert (debit.rule, debit.amount) == (Rule.REDEMPTION, -10)
    assert_ledger_consistent()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"cost": 31}, NotEnoughPoints),
        ({"stock": 0}, OutOfStock),
        ({"is_approved": False}, RewardUnavailable),
        ({"valid_until": timezone.now() - timedelta(days=1)}, RewardUnavailable),
        ({"valid_from": timezone.now() + timedelta(days=1)}, RewardUnavailable),
    ],
)
def test_a_prize_that_cannot_be_had_is_refused_and_nothing_changes(rich, fields, error):
    reward = factories.RewardFactory.create(**{"cost": 10, "stock": 3, **fields})

    with pytest.raises(error):
        services.reward_redeem(reward_id=reward.pk, user_id=rich.pk)

    assert balance(rich) == 30 and not Redemption.objects.exists()
    assert Reward.objects.get().stock == fields.get("stock", 3)


def test_the_per_person_limit_holds(rich):
    reward = factories.RewardFactory.create(cost=10, stock=5, per_user_limit=1)
    services.reward_redeem(reward_id=reward.pk, user_id=rich.pk)

    with pytest.raises(LimitReached):
        services.reward_redeem(reward_id=reward.pk, user_id=rich.pk)

    assert balance(rich) == 20


def test_a_person_who_switched_the_game_off_cannot_redeem(rich):
    reward = factories.RewardFactory.create(cost=10)
    services.player_preferences_set(user_id=rich.pk, is_playing=False, is_public=False)

    with pytest.raises(GamificationOff):
        services.reward_redeem(reward_id=reward.pk, user_id=rich.pk)


def test_somebody_who_never_earned_anything_cannot_redeem(city):
    reward = factories.RewardFactory.create(cost=1)
    nobody = factories.UserFactory.create()

    with pytest.raises(NotEnoughPoints):
        services.reward_redeem(reward_id=reward.pk, user_id=nobody.pk)


# --- concurrency (PostgreSQL: SQLite serialises every writer anyway) ---------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_redemptions_of_a_prize_with_stock_ten_give_exactly_ten_codes(tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    people = factories.UserFactory.create_batch(50)
    for person in people:
        give_points(person.pk, 20)
    reward = factories.RewardFactory.create(cost=15, stock=10, per_user_limit=1)

    results = run_at_once(
        [
            lambda p=person: services.reward_redeem(reward_id=reward.pk, user_id=p.pk)
            for person in people
        ]
    )

    codes = [r.code for r in results if isinstance(r, Redemption)]
    assert len(codes) == len(set(codes)) == 10
    assert all(isinstance(r, Redemption | OutOfStock) for r in results), results
    assert Reward.objects.get().stock == 0
    assert sum(1 for p in people if balance(p) == 5) == 10
    assert_ledger_consistent()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_person_with_points_for_one_prize_redeeming_twice_at_once_gets_one(tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    person = factories.UserFactory.create()
    give_points(person.pk, 15)
    first = factories.RewardFactory.create(cost=10, stock=5, per_user_limit=5)
    second = factories.RewardFactory.create(cost=10, stock=5, per_user_limit=5)

    results = run_at_once(
        [
            lambda: services.reward_redeem(reward_id=first.pk, user_id=person.pk),
            lambda: services.reward_redeem(reward_id=first.pk, user_id=person.pk),
            lambda: services.reward_redeem(reward_id=second.pk, user_id=person.pk),
        ]
    )

    assert sum(isinstance(r, Redemption) for r in results) == 1
    assert sum(isinstance(r, NotEnoughPoints) for r in results) == 2, results
    assert balance(person) == 5
    assert_ledger_consistent()
