"""The registry of delivery channels: a destination's delivery method names the module that
sends to it. A channel is a module with ``send(delivery, destination) -> remote id`` that raises
a ``failures.DeliveryFailure`` when the send did not work, and never touches the database (the
outbox records the outcome). Adding one: a module beside these, and a line below.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from authorities.models import AuthorityCategory, DeliveryMethod
from reports.models import Delivery, DeliveryStatus, UpdateDelivery

from . import email, open311, webhook
from .failures import PermanentFailure, TemporaryFailure

Channel = Callable[[Delivery, AuthorityCategory], str]
# A citizen's update: the row, its destination, and the report's own delivery it follows.
UpdateChannel = Callable[[UpdateDelivery, AuthorityCategory, Delivery], str]

CHANNELS: dict[str, Channel] = {
    DeliveryMethod.EMAIL: email.send,
    DeliveryMethod.OPEN311: open311.send,
    DeliveryMethod.WEBHOOK: webhook.send,
}

UPDATE_CHANNELS: dict[str, UpdateChannel] = {
    DeliveryMethod.EMAIL: email.send_update,
    DeliveryMethod.OPEN311: open311.send_update,
    DeliveryMethod.WEBHOOK: webhook.send_update,
}


def sharing_connections() -> AbstractContextManager[None]:
    """Sends inside share their channel's connections where it keeps them: the e-mails of a
    batch go through one SMTP connection."""
    return email.one_connection()


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


def send_update(row: UpdateDelivery) -> str:
    """Send a citizen's update once, after the report it is about has reached the authority
    (an update the council cannot match to a report is no use to it)."""
    destination = row.destination
    if destination is None:
        raise PermanentFailure("The authority no longer handles this category.")
    parent = (
        Delivery.objects.filter(
            report_id=row.report_id, authority_id=row.authority_id, category_id=row.category_id
        )
        .select_related("report")
        .first()
    )
    if parent is None or parent.status != DeliveryStatus.SENT:
        raise TemporaryFailure("The report has not reached the authority yet; the update waits.")
    channel = UPDATE_CHANNELS.get(row.method)
    if channel is None:
        raise PermanentFailure(f"Unknown delivery method {row.method!r}.")
    return channel(row, destination, parent)
