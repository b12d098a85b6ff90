"""Atom feed of one report: its public timeline and citizens' updates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from config.text import xml_safe

from . import selectors
from .models import Report, ReportState


class ReportFeed(Feed):
    """Every text goes through xml_safe: stored text is clean (config.text), and a row written
    some other way must not make the feed fail (a control character was a 500)."""

    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, ref: str) -> Report:
        report = selectors.public_report_detail(ref.upper())
        if report is None:
            raise Http404(_("No such public report."))
        return report

    def title(self, obj: Report) -> str:
        return xml_safe(obj.title)

    def link(self, obj: Report) -> str:
        return obj.get_absolute_url()

    def subtitle(self, obj: Report) -> str:
        return xml_safe(f"{obj.category.name} · {obj.authority.name}")

    def items(self, obj: Report) -> list[Any]:
        changes = [c for c in obj.history.all() if c.to_state != ReportState.UNCONFIRMED]
        entries = [*changes, *obj.updates.all()]
        return sorted(entries, key=lambda e: e.created_at, reverse=True)

    def item_title(self, item: Any) -> str:
        if hasattr(item, "to_state"):
            return str(item.get_to_state_display())
        return str(_("Update from a citizen"))

    def item_description(self, item: Any) -> str:
        return xml_safe(str(getattr(item, "public_note", None) or getattr(item, "text", "")))

    def item_link(self, item: Any) -> str:
        return f"{item.report.get_absolute_url()}#{type(item).__name__.lower()}-{item.pk}"

    def item_pubdate(self, item: Any) -> datetime:
        return item.created_at
