from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ApiScope, User
from accounts.services import api_client_create


class Command(BaseCommand):
    help = "Create an API client and print its key (once: only a hash is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scope", choices=ApiScope.values, default=ApiScope.READ)
        parser.add_argument("--user", help="e-mail of the account a write client files for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = User.objects.filter(email__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"There is no account {options['user']!r}.")
        client, key = api_client_create(name=options["name"], scope=options["scope"], user=user)
        self.stdout.write(f"API client {client.name!r} ({client.scope}) created. Its key:")
        self.stdout.write(key)
        self.stdout.write("Keep it safe: it is not stored and cannot be shown again.")
