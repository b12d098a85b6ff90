from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from . import delivery, mapdata, notifications
        from .signals import report_state_changed, report_update_added

        def state_changed(
            report: Any, change: Any, created: bool = False, previous_location: Any = None, **_: Any
        ) -> None:
            if created and report.follow_up_due:
                return  # a worker does all of this for the new report (reports.followups)
            notifications.on_state_change(report, change, created=created)
            delivery.on_state_change(report, change, created=created)
            mapdata.on_state_changed(report, previous_location)

        def update_added(update: Any, **_: Any) -> None:
            notifications.on_update(update)

        report_state_changed.connect(state_changed, weak=False, dispatch_uid="notify-state")
        report_update_added.connect(update_added, weak=False, dispatch_uid="notify-update")
        mapdata.connect_signals()  # map tiles follow saves, deletes and category edits
        from .staff import audit

        audit.connect_signals()  # staff changes and staff log-ins leave audit rows
        from config.params import ERROR_SHAPES

        from .open311.render import refusal_for

        ERROR_SHAPES.append(refusal_for)  # Open311's requests are refused in the spec's shape
