from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gamification.demo import game_demo_load


class Command(BaseCommand):
    help = (
        "Add the game's demo data (prizes, challenges, public names for three demo citizens). "
        "Run after load_demo; safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        game_demo_load()
        self.stdout.write("Game demo loaded: prizes, challenges and public names.")
