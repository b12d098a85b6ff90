"""The game's demo data loads once, however often the command runs."""

from __future__ import annotations

from django.core.management import call_command

from gamification.models import Challenge, Player, Reward
from tests import factories


def test_the_game_demo_adds_prizes_challenges_and_public_names_once(db):
    marta = factories.UserFactory.create(email="marta@demo.fixpoint.test")

    call_command("load_game_demo")
    call_command("load_game_demo")

    assert Reward.objects.filter(is_approved=True).count() == 3
    assert Challenge.objects.count() == 2
    assert Player.objects.get(pk=marta.pk).board_name == "Marta R."
