"""Reports as the API's JSON, built as plain dicts.

DRF's ModelSerializer spent more time on a page of 50 reports than PostgreSQL took to find them
(docs/benchmarks.md). These functions write the same fields in the same
formats; the serializers in serializers.py stay the documented (OpenAPI) shape, and
tests/api/test_output.py checks that both give the same answer for every field.

The list reads its reports as values() rows (list_rows, written by ReportWriter.row): building a
report, its category, authority and reporter as model instances, every column of four tables,
was most of a page's time in Python once the database found the page from an index.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.request import Request

from config.jsonapi import absolute_url
from reports.models import Actor, Report, ReportState

REF_MARK = "REF-MARK"  # reversed once per response; every report's URL is this with its ref
ROW_FIELDS = (
    "id",
    "ref",
    "title",
    "description",
    "category__slug",
    "latitude",
    "longitude",
    "address",
    "authority__slug",
    "authority__name",
    "state",
    "priority",
    "extra",
    # Report.public_reporter_name's inputs, and the reporter's User.public_name's
    "show_name",
    "reporter_name",
    "reporter_id",
    "reporter__display_name",
    "reporter__first_name",
    "reporter__last_name",
    "created_at",
    "updated_at",
    "confirmed_at",
    "sent_at",
    "verified_at",
    "fixed_at",
    "closed_at",
)


def list_rows(reports: QuerySet[Report]) -> QuerySet[Report, dict[str, Any]]:
    """What ReportWriter.row writes, as plain dicts in one query (the category, authority and
    reporter joined). The cursor pagination reads its position (created_at or updated_at) from
    them too."""
    return reports.values(*ROW_FIELDS)


class ReportWriter:
    """Writes reports for one request: the site's address, the report URL pattern and the
    time zone are looked up once, not once per report."""

    def __init__(self, request: Request | None) -> None:
        path = reverse("reports:detail", kwargs={"ref": REF_MARK})
        self.url = absolute_url(request, path) if request is not None else path
        self.zone = timezone.get_current_timezone()

    def report(self, report: Report) -> dict[str, Any]:
        when = self.when
        return {
            "id": report.pk,
            "ref": report.ref,
            "title": report.title,
            "description": report.description,
            "category": report.category.slug,
            "latitude": report.latitude,
            "longitude": report.longitude,
            "address": report.address,
            "authority": {"slug": report.authority.slug, "name": report.authority.name},
            "state": report.state,
            "priority": report.priority,
            "extra": report.extra,
            "reporter": report.public_reporter_name,
            "created_at": when(report.created_at),
            "updated_at": when(report.updated_at),
            "confirmed_at": when(report.confirmed_at),
            "sent_at": when(report.sent_at),
            "verified_at": when(report.verified_at),
            "fixed_at": when(report.fixed_at),
            "closed_at": when(report.closed_at),
            "url": self.url.replace(REF_MARK, report.ref),
        }

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A report from list_rows, written as report() writes the same report."""
        when = self.when
        return {
            "id": row["id"],
            "ref": row["ref"],
            "title": row["title"],
            "description": row["description"],
            "category": row["category__slug"],
            "latitude": row["latitude"],
            "longitude": row["longitude"],
            "address": row["address"],
            "authority": {"slug": row["authority__slug"], "name": row["authority__name"]},
            "state": row["state"],
            "priority": row["priority"],
            "extra": row["extra"],
            "reporter": self._reporter(row),
            "created_at": when(row["created_at"]),
            "updated_at": when(row["updated_at"]),
            "confirmed_at": when(row["confirmed_at"]),
            "sent_at": when(row["sent_at"]),
            "verified_at": when(row["verified_at"]),
            "fixed_at": when(row["fixed_at"]),
            "closed_at": when(row["closed_at"]),
            "url": self.url.replace(REF_MARK, row["ref"]),
        }

    def _reporter(self, row: dict[str, Any]) -> str:
        """Report.public_reporter_name of a row, its words translated once per answer."""
        if not row["show_name"]:
            return self._anonymous
        if row["reporter_id"] is not None:
            full = f"{row['reporter__first_name']} {row['reporter__last_name']}".strip()
            return str(row["reporter__display_name"] or full or self._a_citizen)
        return str(row["reporter_name"] or self._anonymous)

    @cached_property
    def _anonymous(self) -> str:
        return gettext("Anonymous")

    @cached_property
    def _a_citizen(self) -> str:
        return gettext("A citizen")

    def detail(self, report: Report) -> dict[str, Any]:
        """A report read by views._with_details: history and updates prefetched, supporters
        counted, the original of a duplicate joined."""
        when = self.when
        original = report.duplicate_of
        data = self.report(report)
        data["supporters"] = report.support_count  # type: ignore[attr-defined]
        data["duplicate_of"] = original.ref if original is not None else None
        data["history"] = [
            {
                "from_state": change.from_state,
                "to_state": change.to_state,
                "actor_kind": change.actor_kind,
                "public_note": change.public_note,
                "created_at": when(change.created_at),
            }
            for change in report.history.all()
            if change.to_state != ReportState.UNCONFIRMED
        ]
        data["updates"] = [
            {
                "id": update.pk,
                "text": update.text,
                "opinion": update.opinion,
                "author": update.author_name if update.show_name and update.author_name else None,
                "created_at": when(update.created_at),
            }
            for update in report.updates.all()
        ]
        return data

    def filed(self, report: Report) -> dict[str, Any]:
        """A report as services.report_create returned it: nobody has supported or updated it
        yet, and its history is the filing. Reading it back cost three queries; this costs none
        (it carries its authority as routing knows it: routing.authority_model). Delivery comes
        after the answer, so `sent_at` is still null."""
        data = self.report(report)
        filing = {
            "from_state": "",
            "to_state": report.state,
            "actor_kind": Actor.REPORTER,
            "public_note": "",
            "created_at": data["created_at"],
        }
        public = report.state != ReportState.UNCONFIRMED
        data.update(supporters=0, duplicate_of=None, history=[filing] if public else [], updates=[])
        return data

    def when(self, moment: datetime | None) -> str | None:
        """As DRF's DateTimeField writes it: in the current time zone, UTC as "Z". Written once
        per moment per answer: a report's created, updated and confirmed times are often one."""
        if moment is None:
            return None
        written = self._written.get(moment)
        if written is None:
            written = self._written[moment] = _iso(moment, self.zone)
        return written

    @cached_property
    def _written(self) -> dict[datetime, str]:
        return {}


def _iso(moment: datetime, zone: tzinfo) -> str:
    text = moment.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
