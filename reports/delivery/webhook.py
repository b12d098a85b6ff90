"""The webhook channel: the report's facts as JSON, POSTed with an HMAC signature over the
timestamp and body, and Delivery.idempotency_key in the Idempotency-Key header."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from authorities.models import AuthorityCategory
from reports.models import Delivery, UpdateDelivery

from .facts import absolute, report_facts, update_facts
from .failures import PermanentFailure, built, revealed
from .http import post


def send(delivery: Delivery, destination: AuthorityCategory) -> str:
    body = built("webhook body", lambda: webhook_body(delivery))
    return _post_signed(destination, body, event="report.open", key=delivery.idempotency_key)


def send_update(row: UpdateDelivery, destination: AuthorityCategory, parent: Delivery) -> str:
    """A citizen's update as a "report.update" event, naming the report and the id the
    authority gave it when the report was delivered."""
    body = built("webhook body", lambda: webhook_update_body(row, parent))
    return _post_signed(destination, body, event="report.update", key=row.idempotency_key)


def _post_signed(destination: AuthorityCategory, body: bytes, *, event: str, key: str) -> str:
    if not destination.endpoint_url or not destination.webhook_secret:
        raise PermanentFailure("This webhook destination needs an endpoint URL and a secret.")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Fixpoint",
        "Idempotency-Key": key,
        "X-Fixpoint-Event": event,
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


def webhook_update_body(row: UpdateDelivery, parent: Delivery) -> bytes:
    report = row.report
    payload = {
        "update_delivery_id": row.pk,
        "event": "report.update",
        "report": {
            "ref": report.ref,
            "url": absolute(report.get_absolute_url()),
            "state": report.state,
            "delivery_id": parent.pk,
            "remote_id": parent.remote_id,
        },
        "update": update_facts(row),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>": signing the timestamp too is what stops a replay
    from passing with a fresh timestamp header. Receivers should refuse old timestamps."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
