from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from reports import privacy


class Command(BaseCommand):
    help = (
        "Warn citizens whose accounts have not been used for ACCOUNT_INACTIVE_DAYS less "
        "ACCOUNT_INACTIVE_WARNING_DAYS, and erase those still unused once warned that long ago "
        "(what Celery beat does nightly; for cron without beat)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        warned, erased = privacy.accounts_inactive_process()
        self.stdout.write(f"{warned} accounts warned, {erased} inactive accounts anonymised.")
