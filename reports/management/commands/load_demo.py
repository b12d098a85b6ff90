from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reports.demo import demo_load


class Command(BaseCommand):
    help = "Load the Barcelona demo (authorities, categories, staff, ~300 reports). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reports", type=int, default=300)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        summary = demo_load(
            reports=options["reports"], seed=options["seed"], progress=self.stdout.write
        )
        self.stdout.write(
            f"Demo ready: {summary.authorities} authorities, {summary.categories} categories."
        )
        if summary.reports_created:
            self.stdout.write(f"{summary.reports_created} demo reports created.")
        else:
            self.stdout.write(
                f"{summary.reports_already_there} reports already present: none added."
            )
        self.stdout.write("\nDemo logins (demo only: these passwords are public):")
        for role, email, password in summary.logins:
            self.stdout.write(f"  {role:<40} {email:<52} {password}")
