from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reports.delivery import deliveries_send_due
from reports.delivery.council_updates import update_deliveries_send_due
from reports.followups import reports_follow_up


class Command(BaseCommand):
    help = (
        "One pass of the delivery re-drive: follow up filed reports no worker has, recover "
        "deliveries stuck in 'sending', then send the pending ones that are due, and the same for "
        "citizens' updates to councils. For cron on "
        "deployments without Celery beat."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now", action="store_true", help="Send every pending delivery, ignoring backoff."
        )
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        followed = reports_follow_up(limit=options["limit"])
        if followed:
            self.stdout.write(f"{followed} filed reports followed up.")
        summary = deliveries_send_due(ignore_backoff=options["now"], limit=options["limit"])
        self.stdout.write(
            f"{summary.sent} sent, {summary.retrying} to retry, {summary.failed} failed, "
            f"{summary.recovered} recovered from 'sending'."
        )
        updates = update_deliveries_send_due(ignore_backoff=options["now"], limit=options["limit"])
        self.stdout.write(
            f"Citizens' updates: {updates.sent} sent, {updates.retrying} to retry, "
            f"{updates.failed} failed, {updates.recovered} recovered from 'sending'."
        )
