from __future__ import annotations

from config.errors import ApplicationError


class InvalidTransition(ApplicationError):
    code = "invalid_transition"
    status = 409


class NotAllowed(ApplicationError):
    code = "not_allowed"
    status = 403
