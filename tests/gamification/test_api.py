"""The game's API keeps its contract: shapes, permissions, errors in the one shape."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.services import api_client_create
from gamification import services
from gamification.models import Redemption
from tests import factories

from .helpers import verify


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def earner(city):
    user = factories.UserFactory.create()
    verify(city, factories.report(city.pothole, *city.WEST, reporter=user, title="Big hole"))
    return user


def test_my_points_gives_the_balance_and_the_entries_with_reasons(
    api, earner, django_assert_max_num_queries
):
    api.force_authenticate(earner)

    with django_assert_max_num_queries(4):
        body = api.get("/api/v1/me/points/").json()

    assert body["balance"] == 15
    assert sorted((e["rule"], e["amount"]) for e in body["entries"]) == [
        ("first_in_area", 5),
        ("report_verified", 10),
    ]
    assert {e["description"] for e in body["entries"]} >= {"Your report was verified"}
    assert all(e["report"] and e["reverses"] is None for e in body["entries"])


def test_my_points_needs_a_signed_in_person(api, db):
    response = api.get("/api/v1/me/points/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_api_is_gone_when_the_deployment_switches_the_game_off(api, earner, settings):
    settings.FIXPOINT_GAMIFICATION = False
    api.force_authenticate(earner)

    for url in ("/api/v1/me/points/", "/api/v1/leaderboards/", "/api/v1/rewards/"):
        assert api.get(url).status_code == 404, url


def test_the_leaderboard_lists_only_people_who_opted_in_and_tells_me_my_rank(api, city, earner):
    other = factories.UserFactory.create()
    verify(city, factories.report(city.pothole, *city.WEST, reporter=other))
    services.player_preferences_set(
        user_id=other.pk, is_playing=True, is_public=True, board_name="Pothole hunter"
    )
    api.force_authenticate(earner)

    body = api.get("/api/v1/leaderboards/", {"period": "all"}).json()

    assert body["shown"] is True and body["area"] is None
    assert body["entries"] == [{"rank": 2, "name": "Pothole hunter", "points": 10}]
    assert body["me"] == {"rank": 1, "points": 15}


def test_an_area_board_with_fewer_than_five_participants_is_not_shown(api, city, earner):
    body = api.get("/api/v1/leaderboards/", {"area": city.barri.slug}).json()

    assert body == {
        "period": "week",
        "area": city.barri.slug,
        "shown": False,
        "entries": [],
        "me": None,
    }


def test_an_area_board_with_five_participants_is_shown(api, city):
    people = factories.UserFactory.create_batch(5)
    for person in people:
        verify(city, factories.report(city.pothole, *city.WEST, reporter=person))
        services.player_preferences_set(
            user_id=person.pk, is_playing=True, is_public=True, board_name=f"P{person.pk}"
        )

    body = api.get("/api/v1/leaderboards/", {"area": city.barri.slug, "period": "month"}).json()

    assert body["shown"] is True and len(body["entries"]) == 5


@pytest.mark.parametrize("query", [{"period": "year"}, {"area": "nowhere"}])
def test_an_unknown_period_or_neighbourhood_is_a_400_in_the_error_shape(api, db, query):
    response = api.get("/api/v1/leaderboards/", query)

    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_challenges_list_progress(api, city, earner):
    factories.ChallengeFactory.create(title="Two holes", target=2)
    api.force_authenticate(earner)

    [challenge] = api.get("/api/v1/challenges/").json()

    assert challenge["title"] == "Two holes"
    assert (challenge["progress"], challenge["mine"], challenge["percent"]) == (1, 1, 50)


def test_rewards_lists_only_approved_prizes_in_stock(api, db):
    factories.RewardFactory.create(title="Bike day pass")
    factories.RewardFactory.create(title="Not approved", is_approved=False)
    factories.RewardFactory.create(title="Gone", stock=0)

    titles = [r["title"] for r in api.get("/api/v1/rewards/").json()]

    assert titles == ["Bike day pass"]


def test_redeeming_gives_a_code_and_debits_the_points(api, earner):
    reward = factories.RewardFactory.create(cost=10, stock=3)
    api.force_authenticate(earner)

    response = api.post(f"/api/v1/rewards/{reward.pk}/redeem/")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == Redemption.objects.get().code
    assert (body["cost"], body["balance"]) == (10, 5)


def test_redeeming_without_enough_points_is_a_409_and_changes_nothing(api, earner):
    reward = factories.RewardFactory.create(cost=100)
    api.force_authenticate(earner)

    response = api.post(f"/api/v1/rewards/{reward.pk}/redeem/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_enough_points"
    assert not Redemption.objects.exists()


def test_a_read_only_api_key_cannot_redeem(api, earner):
    reward = factories.RewardFactory.create(cost=10)
    _, key = api_client_create(name="reader", scope="read", user=earner)

    response = api.post(f"/api/v1/rewards/{reward.pk}/redeem/", HTTP_X_API_KEY=key)

    assert response.status_code == 403
    assert not Redemption.objects.exists()


def test_the_schema_documents_the_game_endpoints(api, db):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]

    assert {"409", "401", "404"} <= set(paths["/api/v1/rewards/{id}/redeem/"]["post"]["responses"])
    points = schema["components"]["schemas"]["Points"]["properties"]
    assert set(points) == {"balance", "entries"}
    assert {"/api/v1/leaderboards/", "/api/v1/challenges/", "/api/v1/me/points/"} <= set(paths)
