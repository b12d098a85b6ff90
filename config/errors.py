"""The one base class of every error the application raises on purpose.

Views, the API exception handler and management commands catch ApplicationError and show its
message; anything else is a bug.
"""

from __future__ import annotations


class ApplicationError(Exception):
    code = "error"
    status = 400  # what the API answers with (config.api.exception_handler)

    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
