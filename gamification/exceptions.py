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
    status = 409


class OutOfStock(GameError):
    code = "out_of_stock"
    status = 409


class LimitReached(GameError):
    code = "limit_reached"
    status = 409


class NotEnoughPoints(GameError):
    code = "not_enough_points"
    status = 409


class UnknownArea(ApplicationError):
    code = "unknown_area"
