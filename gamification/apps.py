from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GamificationConfig(AppConfig):
    """Points, badges and prizes. Listens to reports' announcements; nothing below imports it."""

    name = "gamification"
    verbose_name = _("Gamification")

    def ready(self) -> None:
        from reports.signals import (
            personal_data_anonymised,
            personal_data_requested,
            report_state_changed,
        )

        from . import privacy, rules

        report_state_changed.connect(
            rules.on_report_state_changed, dispatch_uid="gamification.rules"
        )
        personal_data_requested.connect(
            privacy.on_personal_data_requested, dispatch_uid="gamification.privacy.export"
        )
        personal_data_anonymised.connect(
            privacy.on_personal_data_anonymised, dispatch_uid="gamification.privacy.erase"
        )
