"""Background work of the game: each task calls one service and is safe to repeat."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def settle_due_challenges() -> int:
    return services.challenges_settle_due()
