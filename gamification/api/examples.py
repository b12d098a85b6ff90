"""Examples for the game's part of the OpenAPI documentation, from the Barcelona demo (its prizes,
challenges and public names in gamification/demo.py). tests/api/test_schema_docs.py checks each
one against the schema it illustrates; tests/gamification/test_api_examples.py checks that each
has the keys of a real answer, so neither can drift from what the API does."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample

from reports.api.examples import answer

GAME_OFF = "The game is switched off on this site"


def refusal(name: str, code: int, error_code: str, message: str) -> OpenApiExample:
    """An error answer in the one shape, for one status."""
    return answer(name, {"error": {"code": error_code, "message": message}}, code)


def _entry(
    pk: int, amount: int, rule: str, description: str, at: str, **more: Any
) -> dict[str, Any]:
    return {
        "id": pk,
        "amount": amount,
        "rule": rule,
        "description": description,
        "reason": "",
        "report": None,
        "reverses": None,
        "effective_at": at,
        "created_at": at,
        **more,
    }


ANONYMOUS = [
    refusal(
        "Not signed in", 401, "not_authenticated", "Authentication credentials were not provided."
    ),
    refusal("An unknown API key", 401, "authentication_failed", "Unknown or inactive API key."),
]
NO_SUCH_PRIZE = refusal("No such prize, or not available now", 404, "not_found", "Not found.")
GAME_IS_OFF = refusal("The game is off", 404, "not_found", GAME_OFF)
NOBODY = refusal(  # an API key made for a program, not for a person
    "An API key acting for nobody",
    403,
    "permission_denied",
    "You do not have permission to perform this action.",
)

# Newest first, as answered: two reports verified, one fixed, one found a duplicate and its
# points reversed, and a coffee bought with the rest.
ENTRIES = [
    _entry(912, -15, "redemption", "Prize redeemed", at="2026-05-12T18:40:00+02:00"),
    _entry(
        880,
        -10,
        "reversal",
        "Reversed",
        reason="the report duplicated 7KQ2MXR",
        report="9PLM3QA",
        reverses=841,
        at="2026-05-09T09:20:00+02:00",
        effective_at="2026-05-05T10:30:00+02:00",  # a reversal counts when what it cancels did
    ),
    _entry(
        860,
        5,
        "report_fixed",
        "Your verified report was fixed",
        report="7KQ2MXR",
        at="2026-05-08T12:00:00+02:00",
    ),
    _entry(
        841,
        10,
        "report_verified",
        "Your report was verified",
        report="9PLM3QA",
        at="2026-05-05T10:30:00+02:00",
    ),
    _entry(
        822,
        5,
        "first_in_area",
        "First verified report in the neighbourhood",
        report="7KQ2MXR",
        at="2026-05-04T12:30:00+02:00",
    ),
    _entry(
        821,
        10,
        "report_verified",
        "Your report was verified",
        report="7KQ2MXR",
        at="2026-05-04T12:30:00+02:00",
    ),
]
POINTS = [
    answer("A balance with its entries", {"balance": 5, "entries": ENTRIES}),
    NOBODY,
    *ANONYMOUS,
    GAME_IS_OFF,
]

LEADERBOARD = [
    answer(
        "This week, city-wide, signed in",
        {
            "period": "week",
            "area": None,
            "shown": True,
            "entries": [
                {"rank": 1, "name": "Jordi from Gràcia", "points": 45},
                {"rank": 2, "name": "Marta R.", "points": 30},
                {"rank": 4, "name": "Aisha B.", "points": 15},
            ],
            "me": {"rank": 3, "points": 20},
        },
    ),
    answer(
        "A neighbourhood with too few players",
        {
            "period": "month",
            "area": "la-sagrada-familia",
            "shown": False,
            "entries": [],
            "me": None,
        },
    ),
    answer(
        "An unknown period",
        {
            "error": {
                "code": "invalid",
                "message": 'period: "year" is not a valid choice.',
                "fields": {"period": ['"year" is not a valid choice.']},
            }
        },
        400,
    ),
    refusal(
        "An unknown neighbourhood", 400, "unknown_area", "There is no neighbourhood 'atlantis'."
    ),
    GAME_IS_OFF,
]

OWN_CHALLENGE: dict[str, Any] = {
    "id": 3,
    "title": "Five verified reports this month",
    "description": "Report what you see; staff verify it.",
    "starts_at": "2026-05-01T00:00:00+02:00",
    "ends_at": "2026-06-01T00:00:00+02:00",
    "area": None,
    "categories": [],
    "metric": "verified_reports",
    "target": 5,
    "bonus_points": 25,
    "badge": "Sharp eyes",
    "collective": False,
    "settled": False,
    "progress": 2,
    "mine": 2,
    "percent": 40,
}
COLLECTIVE_CHALLENGE: dict[str, Any] = {
    "id": 4,
    "title": "A fixed neighbourhood",
    "description": "Ten problems fixed in the Sagrada Família, all of us together.",
    "starts_at": "2026-03-13T09:00:00+01:00",
    "ends_at": "2026-06-11T09:00:00+02:00",
    "area": "la-sagrada-familia",
    "categories": ["pavement", "street-lighting"],
    "metric": "fixed_reports",
    "target": 10,
    "bonus_points": 10,
    "badge": "",
    "collective": True,
    "settled": False,
    "progress": 7,
    "mine": 1,
    "percent": 70,
}
# drf-spectacular shows each in the list of the answer.
CHALLENGES = [
    answer("A challenge of one's own, with progress", OWN_CHALLENGE),
    answer("A collective challenge, with everybody's progress", COLLECTIVE_CHALLENGE),
    GAME_IS_OFF,
]

REWARD: dict[str, Any] = {
    "id": 2,
    "title": "Bicing day pass",
    "description": "A day of shared bikes.",
    "sponsor": "Bicing",
    "cost": 30,
    "stock": 48,
    "per_user_limit": 1,
    "valid_until": "2026-12-31T23:59:00+01:00",
    "area": None,
}
REWARDS = [
    answer("A prize", REWARD),  # drf-spectacular shows it in a list for the list
    GAME_IS_OFF,
]
REWARD_DETAIL = [
    answer("A prize", REWARD),
    NO_SUCH_PRIZE,
    GAME_IS_OFF,
]

REDEEM = [
    answer(
        "The prize's code, to show the sponsor",
        {
            "id": 57,
            "reward": "Bicing day pass",
            "code": "K7PM-2QXD-9HTA",
            "cost": 30,
            "balance": 15,
            "created_at": "2026-05-12T18:40:00+02:00",
        },
        201,
    ),
    refusal(
        "Not enough points",
        409,
        "not_enough_points",
        "This prize costs 60 points; you have 15.",
    ),
    refusal("Out of stock", 409, "out_of_stock", "This prize has run out."),
    refusal(
        "Your limit reached",
        409,
        "limit_reached",
        "You already have as many of this prize as one person may.",
    ),
    refusal("No longer available", 409, "reward_unavailable", "This prize is not available."),
    refusal(
        "You switched the game off for yourself",
        403,
        "gamification_off",
        "You have switched the game off for yourself.",
    ),
    refusal("A read-only API key", 403, "permission_denied", "This API key is read-only."),
    NOBODY,
    *ANONYMOUS,
    NO_SUCH_PRIZE,
    GAME_IS_OFF,
]
