"""The e-mail channel: the report to the category's delivery address at the authority, with a
Message-ID that every attempt shares, so a resend after a crash is recognisably the same one."""

from __future__ import annotations

import smtplib
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import translation

from authorities.models import AuthorityCategory
from config.text import header_safe
from reports.models import Delivery, Report

from .facts import report_facts
from .failures import PermanentFailure, built, setting, smtp_failure, timeout_seconds


def send(delivery: Delivery, destination: AuthorityCategory) -> str:
    if not destination.email:
        raise PermanentFailure("This category has no delivery e-mail address at this authority.")
    email = destination.email
    message = built("e-mail", lambda: checked(compose_email(delivery, email)))
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise smtp_failure(exc) from exc
    return str(message.extra_headers["Message-ID"])


def checked(message: EmailMessage) -> Any:
    """`message` once Django has written it (its headers are checked then, not when made)."""
    message.message()
    return message


def compose_email(delivery: Delivery, to: str) -> EmailMultiAlternatives:
    """The report as the council reads it: in the authority's language."""
    with translation.override(delivery.report.authority.language or settings.LANGUAGE_CODE):
        return _compose(delivery, to)


def _compose(delivery: Delivery, to: str) -> EmailMultiAlternatives:
    report = delivery.report
    facts = report_facts(report)
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "fixpoint.localhost"
    context = {"r": facts, "site_name": settings.FIXPOINT_SITE_NAME}
    message = EmailMultiAlternatives(
        subject=header_safe(f"[{report.ref}] {report.category.name}: {report.title}"),
        body=render_to_string("emails/delivery.txt", context),
        to=[to],
        reply_to=[reply_to_address(report)],
        headers={
            # The same id on every attempt: a resend after a crash is recognisably the same one.
            "Message-ID": f"<fixpoint-delivery-{delivery.pk}@{domain}>",
            "X-Fixpoint-Report": report.ref,
            "X-Fixpoint-Delivery": str(delivery.pk),
        },
        connection=get_connection(fail_silently=False, timeout=timeout_seconds()),
    )
    message.attach_alternative(render_to_string("emails/delivery.html", context), "text/html")
    return message


def reply_to_address(report: Report) -> str:
    """A per-report address (plus addressing), so a reply can be traced to its report."""
    pattern = str(setting("FIXPOINT_DELIVERY_REPLY_TO", ""))
    if not pattern:
        local, _, domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].partition("@")
        pattern = f"{local}+{{ref}}@{domain}"
    return pattern.replace("{ref}", report.ref.lower())
