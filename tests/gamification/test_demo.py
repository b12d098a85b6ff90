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


def test_the_game_demos_prizes_and_challenges_read_in_catalan_and_spanish(db):
    call_command("load_game_demo")

    for model, fields in (
        (Reward, ("title", "description")),
        (Challenge, ("title", "description")),
    ):
        for obj in model.objects.all():
            for field in fields:
                english = getattr(obj, f"{field}_en")
                for code in ("ca", "es"):
                    translated = getattr(obj, f"{field}_{code}")
                    assert translated and translated != english, (obj, field, code)
    badge = Challenge.objects.get(title_en="Five verified reports this month")
    assert (badge.badge_name_ca, badge.badge_name_es) == ("Ull viu", "Ojo avizor")


def test_a_second_run_translates_an_older_demo_and_keeps_its_stock(db):
    Reward.objects.create(title="Bicing day pass", sponsor="Bicing", cost=30, stock=7)

    call_command("load_game_demo")

    bicing = Reward.objects.get(title_en="Bicing day pass")
    assert bicing.stock == 7
    assert bicing.title_ca == "Abonament d'un dia de Bicing"
    assert Reward.objects.count() == 3
