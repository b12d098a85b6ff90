"""Reads of reports for the public pages."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Report, ReportStateChange, ReportUpdate


def public_reports() -> QuerySet[Report]:
    return Report.objects.public().with_related()


def public_report_detail(ref: str) -> Report | None:
    """A public report with its public timeline and visible updates, in three queries."""
    return (
        public_reports()
        .prefetch_related(
            Prefetch(
                "history",
                queryset=ReportStateChange.objects.select_related("actor").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch("updates", queryset=ReportUpdate.objects.filter(is_hidden=False)),
        )
        .filter(ref=ref)
        .first()
    )
