"""{% site_messages %}: the live site messages of this page, as dismissible banners."""

from __future__ import annotations

from typing import Any

from django import template

from reports.site_messages import messages_for_request

register = template.Library()


@register.inclusion_tag("_site_messages.html", takes_context=True)
def site_messages(context: Any) -> dict[str, Any]:
    request = context.get("request")
    if request is None:  # a template rendered outside a request (an e-mail)
        return {"site_messages": []}
    found = messages_for_request(request, context.get("place_authorities") or ())
    return {
        "site_messages": [(m, m.text) for m in found],  # in the active language (modeltranslation)
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path(),
    }
