"""`game_on` and `game_notices` ("+10 points: your report was verified") for every page.

The notices are read (and marked as seen) only if a template uses them, so pages that do not show
them cost no query.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import services


def game(request: HttpRequest) -> dict[str, Any]:
    if not services.game_on():
        return {"game_on": False, "game_notices": ()}
    return {"game_on": True, "game_notices": SimpleLazyObject(lambda: _notices(request))}


def _notices(request: HttpRequest) -> list[str]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return services.notices_take(user_id=user.pk)
