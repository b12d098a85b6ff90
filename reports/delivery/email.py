"""The e-mail channel: the report to the category's delivery address at the authority, with a
Message-ID that every attempt shares, so a resend after a crash is recognisably the same one."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import translation

from authorities.models import AuthorityCategory, DeliveryMethod
from config.text import header_safe
from reports.models import Delivery, Report, UpdateDelivery

from .facts import report_facts, update_facts
from .failures import PermanentFailure, built, setting, smtp_failure, timeout_seconds


def send(delivery: Delivery, destination: AuthorityCategory) -> str:
    if not destination.email:
        raise PermanentFailure("This category has no delivery e-mail address at this authority.")
    email = destination.email
    message = built("e-mail", lambda: checked(compose_email(delivery, email)))
    _send(message)
    return str(message.extra_headers["Message-ID"])


class _Shared:
    """The SMTP connection the e-mails of one batch share (``one_connection``)."""

    def __init__(self) -> None:
        self.connection: Any = None

    def get(self) -> Any:
        if self.connection is None:
            self.connection = get_connection(fail_silently=False, timeout=timeout_seconds())
        return self.connection

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with suppress(smtplib.SMTPException, OSError):  # gone already: nothing is lost
                connection.close()


_SHARED: ContextVar[_Shared | None] = ContextVar("fixpoint_smtp_shared", default=None)


@contextmanager
def one_connection() -> Iterator[None]:
    """The councils' e-mails sent inside share one connection to the mail server: opened by the
    first, closed at the end. A batch of twenty deliveries said hello, and over TLS shook hands,
    once instead of twenty times. After a failed send the next one connects afresh."""
    shared = _Shared()
    token = _SHARED.set(shared)
    try:
        yield
    finally:
        _SHARED.reset(token)
        shared.close()


def _connection() -> Any:
    shared = _SHARED.get()
    if shared is not None:
        return shared.get()
    return get_connection(fail_silently=False, timeout=timeout_seconds())


def _send(message: EmailMessage) -> None:
    shared = _SHARED.get()
    try:
        if shared is not None:
            shared.get().open()  # the message's: opened here, so that sending does not close it
        message.send()
    except BaseException as exc:
        if shared is not None:
            shared.close()  # in whatever state the error left it: the next send reconnects
        if isinstance(exc, smtplib.SMTPException | OSError):
            raise smtp_failure(exc) from exc
        raise


class _WrittenOnce(EmailMessage):
    """Django writes an e-mail (its MIME parts and headers) when checked() asks, and the SMTP
    backend wrote it a second time to send it: this keeps the first writing for the send."""

    _written: Any = None

    def message(self, **options: Any) -> Any:
        if self._written is None:
            self._written = super().message(**options)
        return self._written


class Email(_WrittenOnce, EmailMultiAlternatives):
    """An e-mail with alternatives (the councils' text and HTML), written once."""


class PlainEmail(_WrittenOnce):
    """A plain-text e-mail (the citizens' notifications), written once."""


def checked(message: Email | PlainEmail) -> Any:
    """`message` once Django has written it (its headers are checked then, not when made).
    Nothing may be added to it afterwards: the send uses this writing."""
    message.message()
    return message


def compose_email(delivery: Delivery, to: str) -> Email:
    """The report as the council reads it: in the authority's language."""
    with translation.override(delivery.report.authority.language or settings.LANGUAGE_CODE):
        return _compose(delivery, to)


def _compose(delivery: Delivery, to: str) -> Email:
    report = delivery.report
    facts = report_facts(report)
    context = {"r": facts, "site_name": settings.FIXPOINT_SITE_NAME}
    message = Email(
        subject=header_safe(f"[{report.ref}] {report.category.name}: {report.title}"),
        body=render_to_string("emails/delivery.txt", context),
        to=[to],
        reply_to=[reply_to_address(report)],
        headers={
            # The same id on every attempt: a resend after a crash is recognisably the same one.
            "Message-ID": report_message_id(delivery),
            "X-Fixpoint-Report": report.ref,
            "X-Fixpoint-Delivery": str(delivery.pk),
        },
        connection=_connection(),
    )
    message.attach_alternative(render_to_string("emails/delivery.html", context), "text/html")
    return message


def _domain() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "fixpoint.localhost"


def report_message_id(delivery: Delivery) -> str:
    """The Message-ID of a report's e-mail to the council: the delivery's own, the same on every
    attempt, so the citizens' updates sent later can thread under it."""
    if delivery.method == DeliveryMethod.EMAIL and delivery.remote_id.startswith("<"):
        return delivery.remote_id  # as sent, even if DEFAULT_FROM_EMAIL changed since
    return f"<fixpoint-delivery-{delivery.pk}@{_domain()}>"


def send_update(row: UpdateDelivery, destination: AuthorityCategory, parent: Delivery) -> str:
    """A citizen's update, threaded under the report's e-mail (In-Reply-To and References)."""
    if not destination.email:
        raise PermanentFailure("This category has no delivery e-mail address at this authority.")
    email = destination.email
    message = built("e-mail", lambda: checked(compose_update_email(row, parent, email)))
    _send(message)
    return str(message.extra_headers["Message-ID"])


def compose_update_email(row: UpdateDelivery, parent: Delivery, to: str) -> Email:
    """The update as the council reads it: in the authority's language, a reply to the report."""
    with translation.override(row.report.authority.language or settings.LANGUAGE_CODE):
        report = row.report
        context = {
            "r": report_facts(report),
            "u": update_facts(row),
            "site_name": settings.FIXPOINT_SITE_NAME,
        }
        thread = report_message_id(parent)
        message = Email(
            subject=header_safe(f"Re: [{report.ref}] {report.category.name}: {report.title}"),
            body=render_to_string("emails/delivery_update.txt", context),
            to=[to],
            reply_to=[reply_to_address(report)],
            headers={
                "Message-ID": f"<fixpoint-update-{row.pk}@{_domain()}>",
                "In-Reply-To": thread,
                "References": thread,
                "X-Fixpoint-Report": report.ref,
                "X-Fixpoint-Update": str(row.pk),
            },
            connection=_connection(),
        )
        html = render_to_string("emails/delivery_update.html", context)
    message.attach_alternative(html, "text/html")
    return message


def reply_to_address(report: Report) -> str:
    """A per-report address (plus addressing), so a reply can be traced to its report."""
    pattern = str(setting("FIXPOINT_DELIVERY_REPLY_TO", ""))
    if not pattern:
        local, _, domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].partition("@")
        pattern = f"{local}+{{ref}}@{domain}"
    return pattern.replace("{ref}", report.ref.lower())
