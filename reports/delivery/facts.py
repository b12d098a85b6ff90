"""What the receiving authority is told about a report, the same for every channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import ngettext

from authorities.models import option_name
from config.baseurl import base_url
from config.compiled import CompiledQuery
from reports.models import Report, ReportPhoto, UpdateDelivery, UpdateEvent

from .failures import setting


def absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else f"{base_url()}{url}"


def report_facts(report: Report) -> dict[str, Any]:
    """Everything the receiving authority needs, in one place for every method."""
    lat, lon = report.latitude, report.longitude
    return {
        "ref": report.ref,
        "title": report.title,
        "description": report.description,
        "category": report.category.name,
        "category_slug": report.category.slug,
        "authority": report.authority.name,
        "latitude": lat,
        "longitude": lon,
        "address": report.address,
        "url": absolute(report.get_absolute_url()),
        "map_url": f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=19/{lat}/{lon}",
        "answers": _answers(report),
        "photos": _report_photos(report),
        "reporter": _reporter_contact(report),
        "created_at": report.created_at.isoformat(),
        "confirmed_at": report.confirmed_at.isoformat() if report.confirmed_at else None,
    }


def _photos_of(report_id: int) -> QuerySet[ReportPhoto, dict[str, Any]]:
    photos = ReportPhoto.objects.filter(report_id=report_id, update__isnull=True, is_hidden=False)
    return photos.values(*_PHOTO_FIELDS)  # in ReportPhoto's order: as they were added


_PHOTO_FIELDS = ("image",)
# Every delivery reads its report's photos: compiled once (config.compiled), not per delivery.
_PHOTOS = CompiledQuery(_photos_of, -1)


def _report_photos(report: Report) -> list[str]:
    known = getattr(report, PHOTOS_READ, None)  # read with the rest of a batch
    rows = known if known is not None else _PHOTOS.run(report.pk)
    storage = ReportPhoto._meta.get_field("image").storage
    return [absolute(storage.url(row["image"])) for row in rows]


PHOTOS_READ = "delivery_photos"


def photos_read(reports: Sequence[Report]) -> None:
    """Read the photos of several reports about to be delivered in one query (a batch of the
    outbox), where report_facts would read each report's."""
    rows: dict[int, list[dict[str, Any]]] = {report.pk: [] for report in reports}
    photos = ReportPhoto.objects.filter(report_id__in=rows, update__isnull=True, is_hidden=False)
    for row in photos.order_by("report_id", *ReportPhoto._meta.ordering or ["pk"]).values(
        "report_id", *_PHOTO_FIELDS
    ):
        rows[row["report_id"]].append(row)
    for report in reports:
        setattr(report, PHOTOS_READ, rows[report.pk])


def _answers(report: Report) -> list[dict[str, Any]]:
    if not report.extra:  # most reports answer no question: no query for the questions
        return []
    questions = {q.code: q for q in report.category.questions.all()}
    answers = []
    for code, value in (report.extra or {}).items():
        question = questions.get(code)
        names = {str(v.get("key")): option_name(v) for v in (question.values if question else [])}
        values = value if isinstance(value, list) else [value]
        answers.append(
            {
                "code": code,
                "question": question.label if question else code,
                "answer": ", ".join(names.get(str(v), str(v)) for v in values),
                "value": value,
            }
        )
    return answers


def _reporter_contact(report: Report) -> dict[str, str] | None:
    if not setting("FIXPOINT_DELIVERY_REPORTER_CONTACT", True):
        return None
    if report.reporter is not None:
        name = report.reporter.display_name or report.reporter.get_full_name()
        return {"name": name, "email": report.reporter.email}
    contact = {"name": report.reporter_name, "email": report.reporter_email}
    if report.reporter_phone:  # a caller staff took the report for
        contact["phone"] = report.reporter_phone
    return contact


def update_facts(row: UpdateDelivery) -> dict[str, Any]:
    """What the authority is told about a citizen's update (a comment, "still a problem", a
    reopening, a support count), the same for every channel; its text in the authority's
    language where Fixpoint writes it."""
    report, update = row.report, row.update
    text = update.text if update is not None else ""
    if row.event == UpdateEvent.REOPENED and row.state_change is not None:
        text = row.state_change.public_note or text
    if row.event == UpdateEvent.SUPPORT:
        text = _support_text(row)
    return {
        "id": row.pk,
        "event": row.event,
        "text": text,
        "opinion": update.opinion if update is not None else "",
        "support_count": row.support_count,
        "author": _author_contact(row),
        "photos": [
            absolute(photo.image.url)
            for photo in (update.photos.filter(is_hidden=False) if update is not None else [])
        ],
        "report_state": report.state,
        "report_open": report.is_open,
        "created_at": row.created_at.isoformat(),
    }


def _support_text(row: UpdateDelivery) -> str:
    count = row.support_count or 0
    with translation.override(row.report.authority.language or settings.LANGUAGE_CODE):
        return ngettext(
            "%(count)d person has said they have this problem too.",
            "%(count)d people have said they have this problem too.",
            count,
        ) % {"count": count}


def _author_contact(row: UpdateDelivery) -> dict[str, str] | None:
    """Who wrote the update, when staff may see contacts: the reporter for a reopening."""
    if row.event == UpdateEvent.SUPPORT:
        return None
    if row.update is None or row.event == UpdateEvent.REOPENED:
        return _reporter_contact(row.report)
    if not setting("FIXPOINT_DELIVERY_REPORTER_CONTACT", True):
        return None
    author = row.update.author
    if author is None:
        name = row.update.author_name
        return {"name": name, "email": ""} if name else None
    return {"name": author.display_name or author.get_full_name(), "email": author.email}
