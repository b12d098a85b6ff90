"""Background work of accounts: each task calls one service and is safe to repeat."""

from __future__ import annotations

from celery import shared_task

from .idempotency import idempotency_keys_expire


@shared_task(ignore_result=True)
def expire_idempotency_keys() -> int:
    return idempotency_keys_expire()
