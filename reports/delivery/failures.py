"""How a channel says that a send went wrong, and the settings every channel reads.

A channel raises TemporaryFailure for what may work later (a server down, 4xx from SMTP, HTTP
5xx/429/408, a timeout) and PermanentFailure for what will not (a refused address, HTTP 4xx, a
destination with no address); the outbox records either. The citizens' e-mail
(reports.notifications) reports its SMTP errors with the same failures.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError

from config.encryption import Secret, SecretUnreadable


class DeliveryFailure(Exception):
    permanent = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:2000]


class TemporaryFailure(DeliveryFailure):
    """Worth trying again later."""


class PermanentFailure(DeliveryFailure):
    """Trying again will not help: somebody must fix the destination or the report."""

    permanent = True


T = TypeVar("T")


def built(what: str, build: Callable[[], T]) -> T:
    """What `build` makes from stored data (a message, a body): building it again builds the
    same thing, so a failure here is permanent (a header that cannot be written, a template
    error), never retried as temporary. A database error meanwhile is not about the data: it
    stays an unexpected, temporary one."""
    try:
        return build()
    except (DeliveryFailure, DatabaseError):
        raise
    except Exception as exc:
        raise PermanentFailure(
            f"The {what} could not be built: {type(exc).__name__}: {exc}. Fix the report or the "
            "destination, then resend it."
        ) from exc


def smtp_failure(exc: smtplib.SMTPException | OSError) -> DeliveryFailure:
    """An SMTP error as a failure: refused for good (5xx, every recipient) is permanent, anything
    else (4xx, the server down or unreachable) temporary. Also for citizens' e-mail."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        failure = PermanentFailure if codes and all(c >= 500 for c in codes) else TemporaryFailure
        return failure(f"SMTP refused the address: {_smtp_reason(exc.recipients)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        failure = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
        return failure(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}")
    return TemporaryFailure(f"SMTP unavailable: {type(exc).__name__}: {exc}")


def _smtp_reason(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{to}: {code} {_text(msg)}" for to, (code, msg) in recipients.items())


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def setting(name: str, default: Any) -> Any:
    """Delivery settings are optional: the defaults suit a deployment that sets none."""
    return getattr(settings, name, default)


def timeout_seconds() -> float:
    # Must stay well below the stuck-"sending" timeout, or a slow send could be re-driven twice
    # (a batch gives back what it has not sent by half that timeout: outbox._send_batch).
    return float(setting("FIXPOINT_DELIVERY_TIMEOUT_SECONDS", 30))


def revealed(secret: Secret) -> str:
    """A destination's secret, to send it. One no configured key decrypts is an operator's
    mistake that a fixed FIELD_ENCRYPTION_KEYS mends: retried, with the reason shown."""
    try:
        return secret.reveal()
    except SecretUnreadable as exc:
        raise TemporaryFailure(str(exc)) from exc
