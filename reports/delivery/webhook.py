"""The webhook channel: the report's facts as JSON, POSTed with an HMAC signature over the
timestamp and body, and Delivery.idempotency_key in the Idempotency-Key header."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from authorities.models import AuthorityCategory
from reports.models import Delivery

from .facts import report_facts
from .failures import PermanentFailure, built, revealed
from .http import post


def send(delivery: Delivery, destination: AuthorityCategory) -> str:
    if not destination.endpoint_url or not destination.webhook_secret:
        raise PermanentFailure("This webhook destination needs an endpoint URL and a secret.")
    body = built("webhook body", lambda: webhook_body(delivery))
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Fixpoint",
        "Idempotency-Key": delivery.idempotency_key,
        "X-Fixpoint-Event": "report.open",
        "X-Fixpoint-Timestamp": timestamp,
        "X-Fixpoint-Signature": "sha256="
        + webhook_signature(revealed(destination.webhook_secret), timestamp, body),
    }
    answer = post(destination.endpoint_url, body, headers)
    try:
        remote_id = json.loads(answer or b"{}").get("id", "")
    except (ValueError, AttributeError):
        remote_id = ""
    return str(remote_id or "")[:200]


def webhook_body(delivery: Delivery) -> bytes:
    payload = {
        "delivery_id": delivery.pk,
        "event": "report.open",
        "report": report_facts(delivery.report),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>": signing the timestamp too is what stops a replay
    from passing with a fresh timestamp header. Receivers should refuse old timestamps."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
