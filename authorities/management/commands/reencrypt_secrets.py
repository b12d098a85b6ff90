"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS (key rotation).

    python manage.py reencrypt_secrets          # after putting a new key first
    python manage.py reencrypt_secrets --check  # exits 1 while any secret needs an older key

The steps of a rotation are in docs/deployment.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.encryption import SecretUnreadable, stored_secrets_not_current, stored_secrets_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; fail while any stored secret is not under the first key.",
        )

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        if check:
            self._check()
            return
        try:
            summary = stored_secrets_reencrypt()
        except SecretUnreadable as exc:
            raise CommandError(f"Nothing was changed. {exc}") from exc
        self.stdout.write(f"Re-encrypted {summary.reencrypted} secrets with the first key.")
        if summary.changed_meanwhile:
            self.stdout.write(
                f"{summary.changed_meanwhile} were saved by someone else meanwhile and kept as "
                "saved: run --check to confirm none needs an older key."
            )

    def _check(self) -> None:
        stale = stored_secrets_not_current()
        for column, count in stale.items():
            self.stdout.write(f"{column}: {count} secrets not under the first key")
        if any(stale.values()):
            raise CommandError(
                "Some secrets still need an older key: run `manage.py reencrypt_secrets` before "
                "removing any key from FIELD_ENCRYPTION_KEYS."
            )
        self.stdout.write("Every stored secret is under the first key: older keys may go.")
