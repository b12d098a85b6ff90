"""Moved to ``reports.delivery`` (``channels`` and one module per channel); the names stay
here for code written before the move."""

from reports.delivery.channels import send
from reports.delivery.email import checked, compose_email, reply_to_address
from reports.delivery.email import send as send_email
from reports.delivery.facts import absolute, report_facts
from reports.delivery.failures import (
    DeliveryFailure,
    PermanentFailure,
    TemporaryFailure,
    built,
    revealed,
    setting,
    smtp_failure,
    timeout_seconds,
)
from reports.delivery.http import get, post
from reports.delivery.open311 import open311_find_filed, open311_params, reference_line
from reports.delivery.open311 import send as send_open311
from reports.delivery.webhook import send as send_webhook
from reports.delivery.webhook import webhook_body, webhook_signature

__all__ = [
    "DeliveryFailure",
    "PermanentFailure",
    "TemporaryFailure",
    "absolute",
    "built",
    "checked",
    "compose_email",
    "get",
    "open311_find_filed",
    "open311_params",
    "post",
    "reference_line",
    "reply_to_address",
    "report_facts",
    "revealed",
    "send",
    "send_email",
    "send_open311",
    "send_webhook",
    "setting",
    "smtp_failure",
    "timeout_seconds",
    "webhook_body",
    "webhook_signature",
]
