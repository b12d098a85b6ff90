from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from reports import questionnaires


class Command(BaseCommand):
    help = (
        "Send the “Has this been fixed?” questionnaire to reporters of reports open for "
        "QUESTIONNAIRE_WEEKS (again every QUESTIONNAIRE_REPEAT_WEEKS, at most QUESTIONNAIRE_MAX "
        "times). What Celery beat does hourly; for cron without beat."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sent = questionnaires.questionnaires_send_due()
        self.stdout.write(f"{sent} questionnaires written to the outbox.")
