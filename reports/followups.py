"""What follows a filing, done by a worker when there is a broker and a cache the workers share
(reports.jobs.coalescing): the reporter's subscription, the area alerts, the delivery row, and
the map tiles that show the new report.

Why: in the citizen's request these wrote three more rows, queried the alerts and made a Redis
round trip for the tiles, and an authority-wide alert with a thousand subscribers would write a
thousand notification rows while the citizen waits. So a report filed open is committed with
``follow_up_due`` set: that row is the outbox entry. A worker woken after the commit
(reports.jobs), or Celery beat every minute, does what the receivers would have done, for up
to a hundred reports per transaction under their row locks, and clears their flags in the same
transaction, so a follow-up is done once even if two workers or a re-drive meet it (in
batches a report costs about a third of its cost alone: docs/benchmarks.md). The new pin
reaches the map's cached tiles when the worker commits, normally milliseconds after the
filing. Without a broker, or with a per-process cache, the receiver of report_state_changed
(reports.apps) calls the same ``reports_opened_follow_up`` during the filing, or the
confirmation, that opened the report.
"""

from __future__ import annotations

import functools
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import User
from authorities.geocoding.selectors import nearby_label
from authorities.models import Area, Authority, Category
from config.compiled import CompiledQuery, field_names, instance

from . import delivery, jobs, notifications
from . import map as mapdata
from .models import HIDDEN_STATES, Report, ReportState, ReportStateChange

WAKE_KEY = jobs.FOLLOW_UPS
BATCH = 100  # reports per transaction: one lock query, one flag update, one subscription insert


def opens(report: Report, change: ReportStateChange) -> bool:
    """Whether this change makes the report public for the first time (filed by a signed-in
    citizen, or confirmed): what is followed up."""
    return report.state == ReportState.OPEN and change.from_state in ("", ReportState.UNCONFIRMED)


def reports_opened_follow_up(reports: list[Report], *, created: bool = False) -> None:
    """Subscribe the reporters, alert the areas, write the deliveries and bump the map tiles of
    reports that have just become public: in a worker for a batch, or in-process for one.
    ``created``: new in this transaction, so nothing written for them can exist yet."""
    notifications.reports_opened(reports, created=created)
    # Even if staff moved them on already: the authority must get them.
    delivery.deliveries_create_many(reports=reports, created=created)
    mapdata.bump_reports_after_commit(reports)


def reports_follow_up(*, limit: int = 1000) -> int:
    """A wake-up's (or beat's) work: follow up the reports still waiting, in batches, up to
    ``limit``; if there may be more, another wake-up follows them up. Returns how many were
    followed up."""
    jobs.woken(WAKE_KEY)
    done = 0
    while done < limit:
        followed = _follow_up_batch(min(BATCH, limit - done))
        if not followed:
            return done
        done += followed
    jobs.follow_ups_wake()  # more may wait (a burst): the next wake-up, not beat a minute later
    return done


@transaction.atomic
def _follow_up_batch(size: int) -> int:
    """Subscribe the reporters, alert the areas, write the deliveries and bump the map tiles of
    up to ``size`` filed reports, in one transaction. Rows another worker holds are skipped."""
    # Spam or hidden before a worker got to them: they keep the flag, and are followed up if
    # staff restore them (reports.services.report_transition wakes a worker then).
    reports = [_due_report(row) for row in _due(size).run()]
    if not reports:
        return 0
    Report.objects.filter(pk__in=[report.pk for report in reports]).update(follow_up_due=False)
    _fill_addresses(reports)
    reports_opened_follow_up(reports)
    return len(reports)


NO_POLYGON = ("boundary",)  # alerts and deliveries name the authority and area; polygons are big
_DUE_FIELDS = (
    *field_names(Report),
    *field_names(User, "reporter__"),
    *field_names(Category, "category__"),
    *field_names(Authority, "authority__", leave_out=NO_POLYGON),
    *field_names(Area, "area__", leave_out=NO_POLYGON),
)


def _due_query(size: int) -> QuerySet[Report, dict[str, Any]]:
    return (
        Report.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(follow_up_due=True)
        .exclude(state__in=HIDDEN_STATES)
        .order_by("pk")
        .values(*_DUE_FIELDS)[:size]
    )


@functools.cache
def _due(size: int) -> CompiledQuery:
    """The reports waiting for their follow-up, locked, with what it reads of their reporter,
    category, authority and area (as select_related loads them): by SQL compiled once and, on
    PostgreSQL, prepared once, for it never changes. Building and planning that five-table
    query took a fifth of the worker's time following filings up (docs/benchmarks.md)."""
    return CompiledQuery(partial(_due_query, size), primary=True)


def _due_report(row: dict[str, Any]) -> Report:
    report = instance(Report, row)
    report.reporter = instance(User, row, "reporter__") if row["reporter__id"] else None
    report.category = instance(Category, row, "category__")
    report.authority = instance(Authority, row, "authority__", leave_out=NO_POLYGON)
    report.area = instance(Area, row, "area__", leave_out=NO_POLYGON) if row["area__id"] else None
    return report


def _fill_addresses(reports: list[Report]) -> None:
    """The nearest address of each report filed without one (the filing left it to us)."""
    found = []
    for report in reports:
        if not report.address:
            report.address = nearby_label(report.latitude, report.longitude)
            if report.address:
                found.append(report)
    if found:
        Report.objects.bulk_update(found, ["address"])
