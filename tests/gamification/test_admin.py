"""The game in the admin: every page works, the ledger cannot be changed, actions call services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone, translation

from gamification import services
from gamification.models import Challenge, GameSettings, Player, PointEntry
from tests import factories

from .helpers import balance, verify


@pytest.fixture
def admin_client(client, city):
    client.force_login(factories.UserFactory.create(is_staff=True, is_superuser=True))
    citizen = factories.UserFactory.create()
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))
    factories.ChallengeFactory.create()
    factories.RewardFactory.create()
    GameSettings.load()
    return client


def test_every_game_model_has_working_list_search_and_change_pages(admin_client):
    models = [m for m in admin.site._registry if m._meta.app_label == "gamification"]
    assert len(models) == 7
    for model in models:
        name = f"admin:gamification_{model._meta.model_name}"
        assert admin_client.get(reverse(f"{name}_changelist"), {"q": "x"}).status_code == 200
        obj = model._default_manager.first()
        if obj is not None:
            assert admin_client.get(reverse(f"{name}_change", args=[obj.pk])).status_code == 200


def test_the_ledger_cannot_be_added_to_changed_or_deleted_in_the_admin(admin_client):
    entry = PointEntry.objects.first()

    assert admin_client.get(reverse("admin:gamification_pointentry_add")).status_code == 403
    delete = reverse("admin:gamification_pointentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert PointEntry.objects.filter(pk=entry.pk).exists()


def test_the_rebuild_action_puts_the_ledger_sum_back_into_the_cache(admin_client):
    player = Player.objects.get()
    Player.objects.filter(pk=player.pk).update(balance=-7)

    admin_client.post(
        reverse("admin:gamification_player_changelist"),
        {"action": "rebuild_balances", "_selected_action": [player.pk]},
    )

    assert balance(player.user) == 15


def test_the_settle_action_settles_a_challenge_past_its_settling_period(admin_client):
    now = timezone.now()
    challenge = factories.ChallengeFactory.create(
        starts_at=now - timedelta(days=30), ends_at=now - timedelta(days=10)
    )

    admin_client.post(
        reverse("admin:gamification_challenge_changelist"),
        {"action": "settle", "_selected_action": [challenge.pk]},
    )

    assert Challenge.objects.get(pk=challenge.pk).settled_at is not None


def test_saving_a_prize_form_loaded_before_redemptions_keeps_the_stock_they_left(admin_client):
    reward = factories.RewardFactory.create(title="Old title", cost=10, stock=5)
    url = reverse("admin:gamification_reward_change", args=[reward.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update({"title_en": "New title", "title_ca": "Títol nou", "add_stock": "3"})
    data["valid_from_0"], data["valid_from_1"] = "2026-01-01", "00:00:00"
    data.update(dict.fromkeys(("valid_until_0", "valid_until_1", "area"), ""))
    player = Player.objects.get()
    services.reward_redeem(reward_id=reward.pk, user_id=player.pk)  # while the form is open

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    reward.refresh_from_db()
    assert (reward.title, reward.stock) == ("New title", 4 + 3)
    with translation.override("ca"):
        assert reward.title == "Títol nou"  # each language's title is kept apart


def test_ticking_public_without_a_name_in_the_admin_shows_the_error_and_saves_nothing(
    admin_client,
):
    player = Player.objects.get()
    url = reverse("admin:gamification_player_change", args=[player.pk])

    response = admin_client.post(url, {"is_playing": "on", "is_public": "on", "board_name": " "})

    assert response.status_code == 200
    assert "Choose a name to appear on public boards." in response.content.decode()
    player.refresh_from_db()
    assert (player.is_public, player.board_name) == (False, "")


def test_the_admin_saves_a_public_name_through_the_service(admin_client):
    player = Player.objects.get()
    url = reverse("admin:gamification_player_change", args=[player.pk])

    response = admin_client.post(url, {"is_public": "on", "board_name": " Lamp spotter "})

    assert response.status_code == 302
    player.refresh_from_db()  # somebody who does not play is never public
    assert (player.is_playing, player.is_public, player.board_name) == (
        False,
        False,
        "Lamp spotter",
    )
