"""The registry of delivery channels: a destination's delivery method names the module that
sends to it. A channel is a module with ``send(delivery, destination) -> remote id`` that raises
a ``failures.DeliveryFailure`` when the send did not work, and never touches the database (the
outbox records the outcome). Adding one: a module beside these, and a line below.
"""

from __future__ import annotations

from collections.abc import Callable

from authorities.models import AuthorityCategory, DeliveryMethod
from reports.models import Delivery

from . import email, open311, webhook
from .failures import PermanentFailure

Channel = Callable[[Delivery, AuthorityCategory], str]

CHANNELS: dict[str, Channel] = {
    DeliveryMethod.EMAIL: email.send,
    DeliveryMethod.OPEN311: open311.send,
    DeliveryMethod.WEBHOOK: webhook.send,
}


def send(delivery: Delivery) -> str:
    """Send a delivery (its report and destination loaded) once, through its method's channel;
    returns the id the remote side gave it ("" when it gives none)."""
    destination = delivery.destination
    if destination is None:
        raise PermanentFailure("The authority no longer handles this category: choose a new one.")
    channel = CHANNELS.get(delivery.method)
    if channel is None:
        raise PermanentFailure(f"Unknown delivery method {delivery.method!r}.")
    return channel(delivery, destination)
