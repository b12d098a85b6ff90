from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ApiScope, User
from accounts.services import WriteKeyNeedsAccount, api_client_create


class Command(BaseCommand):
    help = (
        "Create an API client and print its key (once: only a hash is kept). A write key acts "
        "for the account given with --user, which is accountable for what it files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scope", choices=ApiScope.values, default=ApiScope.READ)
        parser.add_argument(
            "--user",
            help="e-mail of the account the key acts for (required for --scope write); an app "
            "filing for many citizens names each one in its requests (docs/api.md)",
        )
        parser.add_argument(
            "--for-citizens",
            action="store_true",
            help="a write key for an app many people use: each report is filed for the citizen "
            "the request names, who confirms it by e-mail and gets its updates",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = User.objects.filter(email__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"There is no account {options['user']!r}.")
        try:
            client, key = api_client_create(
                name=options["name"],
                scope=options["scope"],
                user=user,
                files_for_citizens=options["for_citizens"],
            )
        except WriteKeyNeedsAccount as exc:
            raise CommandError(exc.message) from None
        acts_for = f", acting for {client.user.email}" if client.user else ""
        acts_for += ", filing for the citizens it names" if client.files_for_citizens else ""
        self.stdout.write(
            f"API client {client.name!r} ({client.scope}{acts_for}) created. Its key:"
        )
        self.stdout.write(key)
        self.stdout.write("Keep it safe: it is not stored and cannot be shown again.")
