"""allauth's e-mails (address confirmation, password reset) leave through the citizens' outbox,
and staff land on their queue after logging in (citizens on their reports).

Like every e-mail Fixpoint sends, each is a Notification row sent after commit and re-driven if the
mail server is down, instead of an SMTP call inside the request that would fail the sign-up page
(or lose the message) when the server is unavailable.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest
from django.urls import reverse

from authorities.permissions import is_staff_user

from . import notifications


class OutboxAccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Only where no ?next= was given: allauth follows that one first.
        if is_staff_user(request.user):
            return reverse("staff:queue")
        return str(super().get_login_redirect_url(request))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        request = allauth_context.request
        message = self.render_mail(
            template_prefix,
            email,
            {"request": request, "email": email, "current_site": get_current_site(request)}
            | context,
        )
        notifications.account_email_enqueue(
            to=email, subject=str(message.subject), body=str(message.body)
        )
