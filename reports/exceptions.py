from __future__ import annotations

from config.errors import ApplicationError


class InvalidTransition(ApplicationError):
    code = "invalid_transition"


class NotAllowed(ApplicationError):
    code = "not_allowed"
