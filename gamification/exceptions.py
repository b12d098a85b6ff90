"""Why a game action was refused. `status` is the HTTP status the API answers with."""

from __future__ import annotations

from config.errors import ApplicationError


class GameError(ApplicationError):
    code = "game_error"
    status = 409


class GamificationOff(GameError):
    code = "gamification_off"
    status = 403


class RewardUnavailable(GameError):
    code = "reward_unavailable"


class OutOfStock(GameError):
    code = "out_of_stock"


class LimitReached(GameError):
    code = "limit_reached"


class NotEnoughPoints(GameError):
    code = "not_enough_points"


class UnknownArea(ApplicationError):
    code = "unknown_area"
