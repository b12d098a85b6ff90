from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from config import embedded

        from . import followups, notifications, search
        from . import map as mapdata
        from .delivery import council_updates
        from .signals import report_state_changed, report_supported, report_update_added

        def state_changed(report: Any, change: Any, created: bool = False, **_: Any) -> None:
            if created and report.follow_up_due:
                return  # a worker follows the new report up (reports.followups)
            if followups.opens(report, change):  # the worker's work, done in-process
                followups.reports_opened_follow_up([report], created=created)
                return
            notifications.on_state_change(report, change)
            mapdata.on_state_changed(report)
            council_updates.on_state_changed(report, change)  # a reopening reaches the council

        def update_added(update: Any, **_: Any) -> None:
            notifications.on_update(update)
            council_updates.on_update_added(update)

        def supported(report: Any, count: int, **_: Any) -> None:
            council_updates.on_supported(report, count)

        report_state_changed.connect(state_changed, weak=False, dispatch_uid="notify-state")
        report_update_added.connect(update_added, weak=False, dispatch_uid="notify-update")
        report_supported.connect(supported, weak=False, dispatch_uid="council-support")
        # SQLite's accent-free search needs its fold function on every connection.
        connection_created.connect(search.register_sqlite_fold, dispatch_uid="sqlite-fold")
        mapdata.connect_signals()  # map tiles follow saves, deletes and category edits
        embedded.connect_signals()  # without a broker, the worker thread starts with a request
        from . import audit, tasks  # noqa: F401  (tasks: registered with Celery in every process)

        audit.connect_signals()  # staff log-ins leave audit rows
        from config.jsonapi import ERROR_SHAPES

        from .open311.render import refusal_for

        ERROR_SHAPES.append(refusal_for)  # Open311's requests are refused in the spec's shape
