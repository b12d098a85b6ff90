from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gamification.services import balances_rebuild


class Command(BaseCommand):
    help = "Recompute every cached points balance from the ledger (the ledger is the truth)."

    def handle(self, *args: Any, **options: Any) -> None:
        fixed = balances_rebuild()
        self.stdout.write(f"{fixed} balances corrected.")
