"""The game's part of the Barcelona demo: prizes, challenges and players who chose a public name.

Points themselves need no loading: the demo's reports go through report_transition, so the award
rules run as they would for real. Safe to run again: nothing is duplicated.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from authorities.models import Area

from . import services
from .models import Challenge, Metric, Reward

REWARDS = [
    ("Bicing day pass", "Bicing", 30, 50, "A day of shared bikes."),
    ("Museum entry for two", "Museu d'Història de Barcelona", 60, 20, "Any day but Monday."),
    ("Coffee at the market", "Mercat de Sant Antoni", 15, 100, "One coffee at a stall."),
]
PUBLIC_NAMES = {"marta": "Marta R.", "jordi": "Jordi from Gràcia", "aisha": "Aisha B."}


@transaction.atomic
def game_demo_load() -> None:
    now = timezone.now()
    for title, sponsor, cost, stock, description in REWARDS:
        Reward.objects.get_or_create(
            title=title,
            defaults={
                "sponsor": sponsor,
                "cost": cost,
                "stock": stock,
                "description": description,
                "is_approved": True,
            },
        )
    _challenges(now)
    for handle, name in PUBLIC_NAMES.items():
        user = User.objects.filter(email=f"{handle}@demo.fixpoint.test").first()
        if user is not None:
            services.player_preferences_set(
                user_id=user.pk, is_playing=True, is_public=True, board_name=name
            )


def _challenges(now: datetime) -> None:
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    Challenge.objects.get_or_create(
        title="Five verified reports this month",
        defaults={
            "starts_at": month,
            "ends_at": month + timedelta(days=31),
            "metric": Metric.VERIFIED_REPORTS,
            "target": 5,
            "bonus_points": 25,
            "badge_name": "Sharp eyes",
        },
    )
    area = Area.objects.filter(slug="la-sagrada-familia").first() or Area.objects.first()
    Challenge.objects.get_or_create(
        title="A fixed neighbourhood",
        defaults={
            "starts_at": now - timedelta(days=60),
            "ends_at": now + timedelta(days=30),
            "area": area,
            "metric": Metric.FIXED_REPORTS,
            "target": 10,
            "bonus_points": 10,
            "is_collective": True,
        },
    )
