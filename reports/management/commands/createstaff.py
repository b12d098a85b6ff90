"""manage.py createstaff EMAIL --authority SLUG --role ROLE [--password PW]

Here rather than in authorities: the audit log it writes to belongs to the reports app, and a
lower app never imports a higher one.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from authorities.models import Authority, StaffRole
from config.errors import ApplicationError
from reports.staff.services import staff_account_set


class Command(BaseCommand):
    help = (
        "Create or update a staff account of an authority with a role. Without --password it "
        "prints a link where the person sets their own password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--authority", required=True, help="the authority's slug")
        parser.add_argument("--role", required=True, choices=StaffRole.values)
        parser.add_argument("--password", help="a password (avoid: it stays in shell history)")

    def handle(self, *args: Any, **options: Any) -> None:
        authority = Authority.objects.filter(slug=options["authority"]).first()
        if authority is None:
            raise CommandError(f"There is no authority with the slug {options['authority']!r}.")
        try:
            account = staff_account_set(
                email=options["email"],
                authority=authority,
                role=options["role"],
                password=options["password"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        verb = "Created" if account.created else "Updated"
        self.stdout.write(f"{verb} {account.user.email}: {options['role']} of {authority.name}.")
        if account.set_password_url:
            self.stdout.write("They set their password here (the link works once):")
            self.stdout.write(account.set_password_url)
