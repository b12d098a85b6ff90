from __future__ import annotations

from config.errors import ApplicationError


class InvalidTransition(ApplicationError):
    code = "invalid_transition"
    status = 409


class NotAllowed(ApplicationError):
    code = "not_allowed"
    status = 403


class NoSuchOriginal(InvalidTransition):
    """The report named as a duplicate's original is not one the actor may name. One message
    whatever the reason (none has that reference or id, it is hidden, it belongs to an authority
    the actor does not work for), naming nothing, so references and ids cannot be probed."""

    def __init__(self) -> None:
        super().__init__("There is no public report by that reference you can see.")


class AccountBanned(NotAllowed):
    """The account (or the address of a banned account) may not file or confirm reports."""

    code = "account_banned"

    def __init__(self) -> None:
        super().__init__("This account is banned and cannot file reports.")
