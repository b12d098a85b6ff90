"""The game's examples in the OpenAPI documentation are what its endpoints really answer: each
answer has the keys of a real one, nested ones included, and each refusal is the very body a
client gets (tests/api/test_schema_docs.py checks them against the schema besides)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.services import api_client_create
from gamification import services
from gamification.exceptions import GameError
from gamification.models import Rule
from tests import factories

from .helpers import verify

POINTS = "/api/v1/me/points/"
BOARDS = "/api/v1/leaderboards/"
CHALLENGES = "/api/v1/challenges/"
REWARDS = "/api/v1/rewards/"
REWARD = "/api/v1/rewards/{id}/"
REDEEM = "/api/v1/rewards/{id}/redeem/"


@pytest.fixture(scope="module")
def schema(django_db_setup: None, django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def documented(schema: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """The examples of one answer, by their title."""
    response = schema["paths"][path][method]["responses"][str(status)]
    examples = response["content"]["application/json"]["examples"]
    return {example["summary"]: example["value"] for example in examples.values()}


def shape(value: Any) -> Any:
    """The keys of a JSON value, nested ones included; a list by the keys of its first object."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value if isinstance(item, dict)][:1]
    return None


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def earner(city):
    """15 points: a verified report, the first in its neighbourhood."""
    user = factories.UserFactory.create()
    verify(city, factories.report(city.pothole, *city.WEST, reporter=user, title="Big hole"))
    return user


def test_the_balance_example_has_the_keys_of_a_real_balance(api, schema, earner):
    api.force_authenticate(earner)
    real = api.get(POINTS).json()

    [example] = documented(schema, POINTS, "get", 200).values()

    assert real["entries"] and example["entries"]
    assert shape(example) == shape(real)


def test_the_balance_example_describes_each_entry_as_the_ledger_does(schema):
    [example] = documented(schema, POINTS, "get", 200).values()

    assert {e["description"] for e in example["entries"]} == {
        Rule(e["rule"]).label for e in example["entries"]
    }
    assert example["balance"] == sum(e["amount"] for e in example["entries"])


def test_the_board_example_has_the_keys_of_a_real_board_with_my_rank(api, schema, city, earner):
    other = factories.UserFactory.create()
    verify(city, factories.report(city.pothole, *city.WEST, reporter=other))
    services.player_preferences_set(
        user_id=other.pk, is_playing=True, is_public=True, board_name="Marta R."
    )
    api.force_authenticate(earner)
    real = api.get(BOARDS).json()

    example = documented(schema, BOARDS, "get", 200)["This week, city-wide, signed in"]

    assert real["entries"] and real["me"]
    assert shape(example) == shape(real)


def test_the_hidden_area_board_example_is_what_a_small_neighbourhood_answers(api, schema, city):
    real = api.get(BOARDS, {"area": city.barri.slug, "period": "month"}).json()

    example = documented(schema, BOARDS, "get", 200)["A neighbourhood with too few players"]

    assert example == {**real, "area": example["area"]}


def test_the_board_refusals_are_the_bodies_of_a_bad_period_and_neighbourhood(api, schema, db):
    examples = documented(schema, BOARDS, "get", 400)

    assert api.get(BOARDS, {"period": "year"}).json() == examples["An unknown period"]
    assert api.get(BOARDS, {"area": "atlantis"}).json() == examples["An unknown neighbourhood"]


def test_the_challenge_examples_have_the_keys_of_real_challenges(api, schema, city, earner):
    factories.ChallengeFactory.create(title="Two holes", target=2)
    factories.ChallengeFactory.create(
        title="Ten fixed", area=city.barri, is_collective=True, metric="fixed_reports"
    ).categories.add(city.pothole)
    api.force_authenticate(earner)
    real = api.get(CHALLENGES).json()

    examples = documented(schema, CHALLENGES, "get", 200).values()

    assert len(real) == 2 and len(examples) == 2
    assert all(shape(example) == shape(real[:1]) for example in examples)


def test_the_prize_examples_have_the_keys_of_a_real_prize(api, schema, db):
    reward = factories.RewardFactory.create()

    [listed] = documented(schema, REWARDS, "get", 200).values()
    [one] = documented(schema, REWARD, "get", 200).values()

    assert shape(listed) == shape(api.get(REWARDS).json())
    assert shape(one) == shape(api.get(REWARD.format(id=reward.pk)).json())


def test_the_redemption_example_has_the_keys_of_a_real_one(api, schema, earner):
    reward = factories.RewardFactory.create(cost=10)
    api.force_authenticate(earner)
    real = api.post(REDEEM.format(id=reward.pk))

    [example] = documented(schema, REDEEM, "post", 201).values()

    assert real.status_code == 201
    assert shape(example) == shape(real.json())
    assert len(example["code"]) == len(real.json()["code"])


def test_the_refusals_of_a_redemption_are_the_bodies_a_client_gets(api, schema, earner):
    refusals = documented(schema, REDEEM, "post", 409)
    dear = factories.RewardFactory.create(cost=60)
    cheap = factories.RewardFactory.create(cost=5, per_user_limit=1)
    api.force_authenticate(earner)

    assert api.post(REDEEM.format(id=dear.pk)).json() == refusals["Not enough points"]
    assert api.post(REDEEM.format(id=cheap.pk)).status_code == 201
    assert api.post(REDEEM.format(id=cheap.pk)).json() == refusals["Your limit reached"]


@pytest.mark.parametrize(
    ("title", "change"),
    [("Out of stock", {"stock": 0}), ("No longer available", {"is_approved": False})],
)
def test_refusals_only_a_race_can_cause_are_what_the_service_refuses_with(
    schema, earner, title, change
):
    # The list no longer offers such a prize (a 404 first): only a request that looked it up
    # just before it ran out or was withdrawn meets these, so ask the service the view calls.
    reward = factories.RewardFactory.create(**change)

    with pytest.raises(GameError) as refused:
        services.reward_redeem(reward_id=reward.pk, user_id=earner.pk)

    body = {"error": {"code": refused.value.code, "message": refused.value.message}}
    assert body == documented(schema, REDEEM, "post", 409)[title]
    assert refused.value.status == 409


def test_a_player_who_left_the_game_gets_the_documented_403(api, schema, earner):
    reward = factories.RewardFactory.create(cost=10)
    services.player_preferences_set(user_id=earner.pk, is_playing=False, is_public=False)
    api.force_authenticate(earner)

    response = api.post(REDEEM.format(id=reward.pk))

    assert response.status_code == 403
    example = documented(schema, REDEEM, "post", 403)["You switched the game off for yourself"]
    assert response.json() == example


def test_api_keys_that_may_not_get_the_documented_403(api, schema, earner):
    reward = factories.RewardFactory.create(cost=10)
    _, reader = api_client_create(name="reader", scope="read", user=earner)
    _, nobody = api_client_create(name="nobody", scope="read")

    redeemed = api.post(REDEEM.format(id=reward.pk), HTTP_X_API_KEY=reader)
    points = api.get(POINTS, HTTP_X_API_KEY=nobody)

    assert (redeemed.status_code, points.status_code) == (403, 403)
    assert redeemed.json() == documented(schema, REDEEM, "post", 403)["A read-only API key"]
    assert points.json() == documented(schema, POINTS, "get", 403)["An API key acting for nobody"]


def test_the_401_examples_are_the_bodies_of_no_key_and_a_wrong_key(api, schema, db):
    examples = documented(schema, POINTS, "get", 401)

    assert api.get(POINTS).json() == examples["Not signed in"]
    assert api.get(POINTS, HTTP_X_API_KEY="fp_wrong").json() == examples["An unknown API key"]
    assert documented(schema, REDEEM, "post", 401) == examples


def test_a_missing_prize_is_the_documented_404(api, schema, earner):
    api.force_authenticate(earner)
    examples = documented(schema, REDEEM, "post", 404)

    answer = api.post(REDEEM.format(id=999999)).json()

    assert answer == examples["No such prize, or not available now"]
    assert api.get(REWARD.format(id=999999)).json() == answer


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (POINTS, "get"),
        (BOARDS, "get"),
        (CHALLENGES, "get"),
        (REWARDS, "get"),
        (REWARD, "get"),
        (REDEEM, "post"),
    ],
)
def test_every_endpoint_documents_the_404_of_a_site_without_the_game(
    api, schema, earner, settings, path, method
):
    reward = factories.RewardFactory.create()
    settings.FIXPOINT_GAMIFICATION = False
    api.force_authenticate(earner)

    response = getattr(api, method)(path.format(id=reward.pk))

    assert response.status_code == 404
    assert response.json() == documented(schema, path, method, 404)["The game is off"]
