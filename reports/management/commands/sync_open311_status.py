from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from reports.delivery.status_sync import open311_statuses_poll


class Command(BaseCommand):
    help = (
        "One pass of the Open311 status poll: ask every Open311 destination with sent deliveries "
        "what changed since the last poll and move our reports to match. For cron on deployments "
        "without Celery beat."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = open311_statuses_poll()
        self.stdout.write(
            f"{summary.destinations} destinations asked ({summary.failed} failed), "
            f"{summary.moved} reports moved, {summary.skipped} changes skipped, "
            f"{summary.resolved} tokens resolved."
        )
