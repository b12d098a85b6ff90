"""The queue as CSV: the same filters and scope as the queue, every milestone date, streamed.

Rows are read with ``QuerySet.iterator(chunk_size=...)`` (a server-side cursor on PostgreSQL) and
written one at a time, so memory stays flat however many reports match. Each export is audited
when it starts, with the filters it used.

Reporter contact needs no check per row: the rows are the reports visible to the user (their
authorities', every one for a superuser), the reports whose contact they may see. Only the
FIXPOINT_DELIVERY_REPORTER_CONTACT switch keeps it out (then it is not even read).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import ApplicationError
from reports.audit import audit_record, client_ip
from reports.models import AuditAction, Report, Support

from .filters import StaffReportFilter

CHUNK_SIZE = 2000  # rows per fetch from the database cursor
LINES_PER_CHUNK = 500  # rows per piece of the HTTP response
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# (CSV header, the value's path for values_list)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("reference", "ref"),
    ("title", "title"),
    ("state", "state"),
    ("category", "category__name"),
    ("authority", "authority__name"),
    ("neighbourhood", "area__name"),
    ("priority", "priority"),
    ("assignee", "assignee__email"),
    ("latitude", "latitude"),
    ("longitude", "longitude"),
    ("supporters", "supporters"),
    ("duplicate_of", "duplicate_of__ref"),
    ("created", "created_at"),
    ("confirmed", "confirmed_at"),
    ("sent", "sent_at"),
    ("verified", "verified_at"),
    ("fixed", "fixed_at"),
    ("closed", "closed_at"),
    ("updated", "updated_at"),
)
CONTACT: tuple[tuple[str, str], ...] = (
    ("reporter_name", "reporter_name"),
    ("reporter_email", "reporter_email"),
    ("reporter_account_name", "reporter__display_name"),
    ("reporter_account_email", "reporter__email"),
)


class InvalidFilters(ApplicationError):
    code = "invalid_filters"


class UnknownAuthority(InvalidFilters):
    code = "unknown_authority"


@dataclass
class Export:
    rows: Iterator[str]
    filename: str


def neutralise(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; the rest is as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell(value: Any, zone: tzinfo | None = None) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone or timezone.get_current_timezone()).isoformat("T", "seconds")
    return neutralise(value)


def report_export(*, request: HttpRequest, params: QueryDict) -> Export:
    """Check the filters, record the export in the audit log, and return its streamed rows."""
    queue = StaffReportFilter(params, request=request)
    if not queue.is_valid():
        if "authority" in queue.errors:
            raise UnknownAuthority(_("No such authority among yours."))
        raise InvalidFilters(_errors_text(queue.errors))
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        authority=queue.form.cleaned_data.get("authority"),
        after={"filters": {key: params.getlist(key) for key in params}},
        ip=client_ip(request),
    )
    contact = bool(settings.FIXPOINT_DELIVERY_REPORTER_CONTACT)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return Export(
        rows=_lines(_rows(queue.qs, contact=contact), contact=contact),
        filename=f"fixpoint-reports-{stamp}.csv",
    )


def _errors_text(errors: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{field}: {' '.join(str(m) for m in messages)}" for field, messages in errors.items()
    )


def _rows(reports: QuerySet[Report], *, contact: bool) -> Iterator[tuple[Any, ...]]:
    """The columns' values per report, the reporter's contact last (only if `contact`)."""
    supporters = (
        Support.objects.filter(report=OuterRef("pk"))
        .order_by()
        .values("report")
        .annotate(n=Count("pk"))
        .values("n")
    )
    paths = [path for _, path in COLUMNS] + ([path for _, path in CONTACT] if contact else [])
    rows = reports.annotate(
        supporters=Coalesce(Subquery(supporters, output_field=IntegerField()), 0)
    ).values_list(*paths)
    # In a transaction the cursor is a plain server-side cursor that PostgreSQL fills as rows are
    # fetched. Outside one (autocommit) Django declares it WITH HOLD, and PostgreSQL then
    # computes and stores every row before sending the first: minutes for a million reports.
    # The transaction only reads; a client that goes away closes the generator and ends it.
    with transaction.atomic():
        yield from rows.iterator(chunk_size=CHUNK_SIZE)


class _Line:
    """csv.writer writes into this and gets the line back (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def _lines(rows: Iterator[tuple[Any, ...]], *, contact: bool) -> Iterator[str]:
    """CSV text, LINES_PER_CHUNK rows at a time: one chunk per row would be a million socket
    writes for a million reports. Without `contact` the rows lack it and its columns are empty
    (the same header either way, so a spreadsheet built on it keeps working)."""
    writer = csv.writer(_Line())
    chunk = [writer.writerow([name for name, _ in COLUMNS] + [name for name, _ in CONTACT])]
    blank = [] if contact else [""] * len(CONTACT)
    zone = timezone.get_current_timezone()
    for row in rows:
        chunk.append(writer.writerow([cell(v, zone) for v in row] + blank))
        if len(chunk) >= LINES_PER_CHUNK:
            yield "".join(chunk)
            chunk.clear()
    if chunk:
        yield "".join(chunk)
