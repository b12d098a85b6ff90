"""The game's part of the Barcelona demo: prizes, challenges and players who chose a public name.

Points themselves need no loading: the demo's reports go through report_transition, so the award
rules run as they would for real. Safe to run again: nothing is duplicated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from accounts.models import User
from authorities.models import Area

from . import services
from .models import Challenge, Metric, Reward

# title and description in English, Catalan and Spanish; sponsor, cost, stock
REWARDS = [
    (
        {
            "en": ("Bicing day pass", "A day of shared bikes."),
            "ca": ("Abonament d'un dia de Bicing", "Un dia de bicicletes compartides."),
            "es": ("Pase de un día de Bicing", "Un día de bicicletas compartidas."),
        },
        "Bicing",
        30,
        50,
    ),
    (
        {
            "en": ("Museum entry for two", "Any day but Monday."),
            "ca": ("Entrada al museu per a dues persones", "Qualsevol dia excepte dilluns."),
            "es": ("Entrada al museo para dos personas", "Cualquier día excepto el lunes."),
        },
        "Museu d'Història de Barcelona",
        60,
        20,
    ),
    (
        {
            "en": ("Coffee at the market", "One coffee at a stall."),
            "ca": ("Un cafè al mercat", "Un cafè en una parada."),
            "es": ("Un café en el mercado", "Un café en un puesto."),
        },
        "Mercat de Sant Antoni",
        15,
        100,
    ),
]
CHALLENGES = {  # title, description and badge in each language
    "month": {
        "en": (
            "Five verified reports this month",
            "Report five problems that the council's inspectors verify this month.",
            "Sharp eyes",
        ),
        "ca": (
            "Cinc incidències verificades aquest mes",
            "Comuniqueu aquest mes cinc problemes que els inspectors de l'Ajuntament verifiquin.",
            "Ull viu",
        ),
        "es": (
            "Cinco incidencias verificadas este mes",
            "Comunique este mes cinco problemas que los inspectores del Ayuntamiento verifiquen.",
            "Ojo avizor",
        ),
    },
    "neighbourhood": {
        "en": (
            "A fixed neighbourhood",
            "Together, ten reports fixed in the neighbourhood: everybody who helped wins.",
            "",
        ),
        "ca": (
            "Un barri arreglat",
            "Entre tots, deu incidències resoltes al barri: guanya tothom qui hi ha ajudat.",
            "",
        ),
        "es": (
            "Un barrio arreglado",
            "Entre todos, diez incidencias resueltas en el barrio: gana todo el que ha ayudado.",
            "",
        ),
    },
}
PUBLIC_NAMES = {"marta": "Marta R.", "jordi": "Jordi from Gràcia", "aisha": "Aisha B."}


@transaction.atomic
@translation.override("en")  # `title` is the English column, whatever language is active
def game_demo_load() -> None:
    now = timezone.now()
    for texts, sponsor, cost, stock in REWARDS:
        # Found by the English title; a second run adds the translations to an older demo and
        # leaves the stock (redemptions take from it) as it is.
        Reward.objects.update_or_create(
            title_en=texts["en"][0],
            defaults=_translated(texts, "title", "description"),
            create_defaults={
                **_translated(texts, "title", "description"),
                "sponsor": sponsor,
                "cost": cost,
                "stock": stock,
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
    _challenge(
        CHALLENGES["month"],
        starts_at=month,
        ends_at=month + timedelta(days=31),
        metric=Metric.VERIFIED_REPORTS,
        target=5,
        bonus_points=25,
    )
    area = Area.objects.filter(slug="la-sagrada-familia").first() or Area.objects.first()
    _challenge(
        CHALLENGES["neighbourhood"],
        starts_at=now - timedelta(days=60),
        ends_at=now + timedelta(days=30),
        area=area,
        metric=Metric.FIXED_REPORTS,
        target=10,
        bonus_points=10,
        is_collective=True,
    )


def _challenge(texts: Mapping[str, tuple[str, ...]], **fields: Any) -> None:
    names = ("title", "description", "badge_name")
    Challenge.objects.update_or_create(
        title_en=texts["en"][0],
        defaults=_translated(texts, *names),
        create_defaults={**_translated(texts, *names), **fields},
    )


def _translated(texts: Mapping[str, tuple[str, ...]], *names: str) -> dict[str, str]:
    """`title`, `title_en`, `title_ca`, ... from each language's tuple, in `names`' order."""
    found = {
        f"{name}_{code}": text[i] for code, text in texts.items() for i, name in enumerate(names)
    }
    return {**found, **{name: texts["en"][i] for i, name in enumerate(names)}}
