"""What follows a filing, done by a worker when there is a broker: the reporter's subscription,
the area alerts, the delivery row, and the map tiles that show the new report.

Why: in the citizen's request these wrote three more rows, queried the alerts and made a Redis
round trip for the tiles, and an authority-wide alert with a thousand subscribers would write a
thousand notification rows while the citizen waits. With a broker, a report filed open is
committed with ``follow_up_due`` set: that row is the outbox entry. A worker woken after the
commit (reports.wakeups), or Celery beat every minute, does what the receivers would have done,
under the report's lock, and clears the flag in the same transaction, so a follow-up is done once
even if two workers or a re-drive meet it. The new pin reaches the map's cached tiles when the
worker commits, normally milliseconds after the filing.
Without a broker (tasks run in-process) the receivers do it during the filing, as before.
"""

from __future__ import annotations

from django.db import transaction

from . import delivery, mapdata, notifications, wakeups
from .models import HIDDEN_STATES, Report

WAKE_KEY = "followups:wake"


def deferring() -> bool:
    """Whether a report filed now leaves its follow-up to a worker."""
    return wakeups.coalescing()


def wake() -> None:
    """After the commit of a report filed with follow_up_due: have a worker follow it up."""
    from .tasks import follow_up_filed_reports

    wakeups.wake(WAKE_KEY, follow_up_filed_reports)


def reports_follow_up(*, limit: int = 200) -> int:
    """A wake-up's (or beat's) work: follow up every report still waiting. Returns how many."""
    wakeups.woken(WAKE_KEY)
    waiting = Report.objects.filter(follow_up_due=True).order_by("pk")
    return sum(
        report_follow_up(report_id=pk) for pk in waiting.values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def report_follow_up(*, report_id: int) -> bool:
    """Subscribe the reporter, alert the areas and write the delivery of one filed report.
    False if it needs none (done already, or another worker holds it)."""
    report = (
        Report.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("reporter")
        .filter(pk=report_id, follow_up_due=True)
        .first()
    )
    if report is None:
        return False
    Report.objects.filter(pk=report.pk).update(follow_up_due=False)
    report.follow_up_due = False
    mapdata.bump_report_after_commit(report)
    if report.state not in HIDDEN_STATES:  # spam or hidden before a worker got to it: nothing
        filing = report.history.order_by("created_at", "pk").first()
        if filing is not None:
            notifications.on_state_change(report, filing)
        # Even if staff moved it on already (say, verified): the authority must still get it.
        delivery.deliveries_create(report=report)
    return True
