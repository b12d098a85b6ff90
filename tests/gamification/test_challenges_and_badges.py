"""Challenges settle once, after the settling period; badges follow the verified data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from gamification import selectors, services
from gamification.models import BadgeAward, Challenge, Metric, PointEntry, Rule
from gamification.tasks import settle_due_challenges
from reports.models import ReportState
from tests import factories

from .helpers import assert_ledger_consistent, balance, move, verify

S = ReportState


@pytest.fixture
def citizen(city):
    return factories.UserFactory.create()


def ended(**fields) -> Challenge:
    """A challenge that ran over the last few minutes and is past its 7-day settling period,
    as seen from `later()`."""
    now = timezone.now()
    return factories.ChallengeFactory.create(
        starts_at=now - timedelta(hours=1), ends_at=now + timedelta(minutes=5), **fields
    )


def later():
    return timezone.now() + timedelta(days=8)


def test_an_individual_challenge_rewards_who_reached_the_target_once(city, citizen):
    challenge = ended(target=2, bonus_points=25, badge_name="Spring cleaner")
    other = factories.UserFactory.create()
    for person in (citizen, citizen, other):
        verify(city, factories.report(city.pothole, *city.WEST, reporter=person))

    assert services.challenge_settle(challenge_id=challenge.pk, now=later()) == 1
    assert services.challenge_settle(challenge_id=challenge.pk, now=later()) == 0

    bonus = PointEntry.objects.get(rule=Rule.CHALLENGE_BONUS)
    assert (bonus.user, bonus.amount) == (citizen, 25)
    assert BadgeAward.objects.get(code=f"challenge-{challenge.pk}").user == citizen
    assert_ledger_consistent()


def test_nothing_is_settled_before_the_settling_period_is_over(city, citizen):
    challenge = ended(target=1)
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))

    assert services.challenge_settle(challenge_id=challenge.pk, now=timezone.now()) == 0
    assert Challenge.objects.get().settled_at is None


def test_a_report_reversed_during_the_settling_period_no_longer_counts(city, citizen):
    challenge = ended(target=2)
    reports = [factories.report(city.pothole, *city.WEST, reporter=citizen) for _ in range(2)]
    for report in reports:
        verify(city, report)

    move(reports[0], S.SPAM, city.west_staff)

    assert selectors.challenge_progress(challenge) == {citizen.pk: 1}
    assert services.challenge_settle(challenge_id=challenge.pk, now=later()) == 0
    assert Challenge.objects.get().settled_at is not None


def test_a_collective_challenge_rewards_every_contributor_when_the_total_is_reached(city):
    challenge = ended(target=3, bonus_points=10, is_collective=True)
    people = factories.UserFactory.create_batch(3)
    for person in people:
        verify(city, factories.report(city.pothole, *city.WEST, reporter=person))

    assert services.challenge_settle(challenge_id=challenge.pk, now=later()) == 3

    assert [balance(p) for p in people] == [25, 20, 20]  # the first also was first in the area


def test_a_challenge_counts_only_its_area_and_categories(city, citizen):
    challenge = ended(target=1, metric=Metric.VERIFIED_REPORTS, area=city.barri)
    challenge.categories.set([city.bins])
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))
    move(factories.report(city.bins, *city.EAST, reporter=citizen), S.VERIFIED, city.city_staff)

    assert selectors.challenge_progress(challenge) == {}


def test_the_neighbourhoods_metric_counts_distinct_neighbourhoods(city, citizen):
    factories.area("Barri Est", factories.square(1.1, 10.0, 0.1), authority=city.east)
    challenge = ended(target=2, metric=Metric.NEIGHBOURHOODS)
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))
    move(factories.report(city.pothole, *city.EAST, reporter=citizen), S.VERIFIED, city.east_staff)

    assert selectors.challenge_progress(challenge) == {citizen.pk: 2}


def test_the_beat_task_and_the_cron_command_settle_what_is_due(city, citizen, capsys):
    now = timezone.now()
    due = factories.ChallengeFactory.create(
        starts_at=now - timedelta(days=20), ends_at=now - timedelta(days=8)
    )
    running = factories.ChallengeFactory.create()

    settle_due_challenges.delay()
    call_command("settle_challenges")

    assert Challenge.objects.get(pk=due.pk).settled_at is not None
    assert Challenge.objects.get(pk=running.pk).settled_at is None
    assert "winners" in capsys.readouterr().out


def test_badges_level_up_with_verified_reports_and_are_revoked_when_reversed(city, citizen):
    reports = [factories.report(city.pothole, *city.WEST, reporter=citizen) for _ in range(5)]
    for report in reports:
        verify(city, report)
    assert BadgeAward.objects.get(user=citizen, code="reporter").level == 2  # 5 reports

    move(reports[0], S.SPAM, city.west_staff)
    assert BadgeAward.objects.get(user=citizen, code="reporter").level == 1

    for report in reports[1:]:
        move(report, S.SPAM, city.west_staff)
    assert not BadgeAward.objects.filter(user=citizen).exists()


def test_a_confirmation_badge_comes_from_updates_staff_agreed_with(city, citizen):
    from reports import services as report_services
    from reports.models import Opinion

    report = factories.report(city.pothole, *city.WEST)
    report_services.report_update_add(
        report_id=report.pk, author=citizen, text="Still there", opinion=Opinion.STILL_A_PROBLEM
    )

    verify(city, report)

    assert BadgeAward.objects.get(user=citizen).code == "confirmer"


@pytest.mark.parametrize(
    ("language", "reporter", "challenge"),
    [
        ("ca", "Veu del carrer", "Net de primavera"),
        ("es", "Voz de la calle", "Limpieza de primavera"),
    ],
)
def test_badges_are_named_in_the_readers_language(
    city, citizen, client, language, reporter, challenge
):
    won = ended(
        target=1,
        badge_name="Spring cleaner",
        badge_name_ca="Net de primavera",
        badge_name_es="Limpieza de primavera",
    )
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))
    services.challenge_settle(challenge_id=won.pk, now=later())
    client.force_login(citizen)

    page = client.get("/me/points/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert reporter in page and challenge in page
    for english in ("Reporter", "Explorer", "Neighbour", "Spring cleaner"):
        assert english not in page
    # stored in English whatever the language of the request that earned them
    assert {"Reporter", "Explorer", "Spring cleaner"} <= set(
        BadgeAward.objects.values_list("name", flat=True)
    )
