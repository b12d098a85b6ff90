from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gamification.services import challenges_settle_due


class Command(BaseCommand):
    help = (
        "Settle every challenge whose settling period is over: bonuses and badges, once. "
        "For cron on deployments without Celery beat."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        winners = challenges_settle_due()
        self.stdout.write(f"{winners} winners rewarded.")
