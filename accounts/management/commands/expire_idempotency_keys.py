from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.idempotency import idempotency_keys_expire


class Command(BaseCommand):
    help = "Forget the answers kept for Idempotency-Key headers older than 24 hours (from cron)."

    def handle(self, *args: Any, **options: Any) -> None:
        forgotten = idempotency_keys_expire()
        self.stdout.write(f"Forgot {forgotten} idempotency key(s) older than 24 hours.")
