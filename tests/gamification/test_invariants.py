"""Property-based: whatever happens to reports, in whatever order, the game's invariants hold.

Hypothesis draws sequences of events (filing, every staff move, citizens' opinions, redemptions)
and after each one the ledger, balances, reversals, stock and badges are checked.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Sum
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from config.errors import ApplicationError
from gamification import badges, selectors, services
from gamification.models import BadgeAward, PointEntry, Redemption, Reward, Rule
from reports import services as report_services
from reports.models import Opinion, Report, ReportState
from tests import factories

S = ReportState
PEOPLE = 3  # citizens; index PEOPLE is a member of the west district's staff
file = st.tuples(st.just("file"), st.integers(0, PEOPLE))
# Weighted towards the moves the game reacts to; every state is drawn now and then.
states = st.sampled_from([S.VERIFIED, S.VERIFIED, S.FIXED, S.SPAM, S.DUPLICATE, *S.values])
move = st.tuples(st.just("move"), st.integers(0, 2), states, st.integers(0, 2))
opinion = st.sampled_from([Opinion.FIXED, Opinion.STILL_A_PROBLEM, Opinion.NONE])
update = st.tuples(st.just("update"), st.integers(0, 3), st.integers(0, PEOPLE - 1), opinion)
redeem = st.tuples(st.just("redeem"), st.integers(0, PEOPLE - 1))
events = st.lists(st.one_of(file, move, move, move, update, redeem), min_size=3, max_size=30)


@example(steps=[("file", 0), ("move", 0, S.VERIFIED, 0), ("move", 0, S.SPAM, 0)])
@example(
    steps=[
        ("file", 1),
        ("file", 0),
        ("update", 1, 2, Opinion.STILL_A_PROBLEM),
        ("move", 1, S.VERIFIED, 0),
        ("move", 1, S.FIXED, 0),
        ("redeem", 0),
        ("move", 1, S.DUPLICATE, 0),
        ("move", 1, S.OPEN, 0),
        ("move", 1, S.SPAM, 0),
    ]
)
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=events)
def test_every_sequence_of_report_events_keeps_the_game_consistent(city, steps):
    with transaction.atomic():  # each example starts from the same empty game
        world = World(city)
        for step in steps:
            world.apply(step)
            world.check()
        transaction.set_rollback(True)


class World:
    def __init__(self, city: Any) -> None:
        self.city = city
        self.people = [*factories.UserFactory.create_batch(PEOPLE), city.west_staff]
        self.reports: list[Report] = []
        self.reward = factories.RewardFactory.create(cost=12, stock=2, per_user_limit=1)

    def apply(self, step: tuple[Any, ...]) -> None:
        try:
            with transaction.atomic():  # a refused event leaves nothing behind
                getattr(self, f"_{step[0]}")(*step[1:])
        except ApplicationError:
            pass  # refused moves are part of the game too

    def _file(self, person: int) -> None:
        report = factories.report(self.city.pothole, *self.city.WEST, reporter=self.people[person])
        self.reports.append(report)

    def _move(self, index: int, state: str, original: int) -> None:
        if not self.reports:
            return
        report = self.reports[index % len(self.reports)]
        other = self.reports[original % len(self.reports)]
        report_services.report_transition(
            report_id=report.pk,
            to_state=state,
            actor=self.city.west_staff,
            duplicate_of_id=other.pk,
        )

    def _update(self, index: int, person: int, opinion: str) -> None:
        if self.reports:
            report_services.report_update_add(
                report_id=self.reports[index % len(self.reports)].pk,
                author=self.people[person],
                text="Seen it today",
                opinion=opinion,
            )

    def _redeem(self, person: int) -> None:
        services.reward_redeem(reward_id=self.reward.pk, user_id=self.people[person].pk)

    def check(self) -> None:
        assert selectors.ledger_mismatches() == []
        self._check_reversals()
        self._check_awards_once_and_earned()
        self._check_spam_nets_to_nothing()
        self._check_prizes()
        self._check_badges()

    def _check_reversals(self) -> None:
        for entry in PointEntry.objects.filter(reverses__isnull=False).select_related("reverses"):
            reversed_entry = entry.reverses
            assert reversed_entry is not None
            assert entry.amount == -reversed_entry.amount
            assert entry.user_id == reversed_entry.user_id

    def _check_awards_once_and_earned(self) -> None:
        awards = PointEntry.objects.exclude(rule__in=(Rule.REVERSAL, Rule.REDEMPTION))
        repeated = awards.values("rule", "user", "report").annotate(n=Count("id")).filter(n__gt=1)
        assert not repeated.exclude(rule=Rule.CONFIRMATION).exists()
        staff = self.city.west_staff
        assert not PointEntry.objects.filter(user=staff, report__authority=self.city.west).exists()
        for entry in awards.filter(rule=Rule.REPORT_VERIFIED).select_related("report"):
            report = entry.report
            assert report is not None
            assert report.verified_at is not None and report.confirmed_at is not None

    def _check_spam_nets_to_nothing(self) -> None:
        for report in Report.objects.filter(state=S.SPAM):
            gained = PointEntry.objects.filter(report=report).exclude(rule=Rule.SPAM_PENALTY)
            assert (gained.aggregate(total=Sum("amount"))["total"] or 0) == 0

    def _check_prizes(self) -> None:
        reward = Reward.objects.get(pk=self.reward.pk)
        assert reward.stock + Redemption.objects.filter(reward=reward).count() == 2
        for debit in PointEntry.objects.filter(rule=Rule.REDEMPTION):
            before = PointEntry.objects.filter(user_id=debit.user_id, id__lt=debit.pk)
            assert (before.aggregate(total=Sum("amount"))["total"] or 0) >= -debit.amount

    def _check_badges(self) -> None:
        for person in self.people:
            counts = badges.badge_counts(person.pk)
            held = dict(BadgeAward.objects.filter(user=person).values_list("code", "level"))
            for kind in badges.KINDS:
                assert held.get(kind.code, 0) == badges.level_for(kind, counts[kind.code])
