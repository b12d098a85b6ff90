from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from reports import services


class Command(BaseCommand):
    help = (
        "Delete unconfirmed reports older than UNCONFIRMED_TTL_HOURS and photos whose form was "
        "never sent (what Celery beat does hourly; for cron without beat)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        photos = services.photo_discard_stale()
        reports = services.report_expire_unconfirmed()
        self.stdout.write(f"{reports} unconfirmed reports and {photos} unused photos deleted.")
