"""`game_on` and `game_news` ("+45 points for 6 verified reports and more") for every page.

The news is read (and marked as seen) only if a template uses it, so pages that do not show it
cost no query.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import services
from .selectors import PointsNews


def game(request: HttpRequest) -> dict[str, Any]:
    if not services.game_on():
        return {"game_on": False, "game_news": None}
    return {"game_on": True, "game_news": SimpleLazyObject(lambda: _news(request))}


def _news(request: HttpRequest) -> PointsNews | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return services.notices_take(user_id=user.pk)
