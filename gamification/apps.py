from django.apps import AppConfig


class GamificationConfig(AppConfig):
    """Points, badges and prizes. Listens to reports' announcements; nothing below imports it."""

    name = "gamification"
    verbose_name = "Gamification"

    def ready(self) -> None:
        from reports.signals import report_state_changed

        from . import rules

        report_state_changed.connect(
            rules.on_report_state_changed, dispatch_uid="gamification.rules"
        )
