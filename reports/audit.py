"""The audit log: who did what to which object, when, with the values before and after.

Recorded by the services themselves (a state change by reports.services.report_transition, a
log-in by a listener), so every way in, the staff pages, the admin and the staff API alike, leaves
the same rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db import models
from django.http import HttpRequest

from authorities.permissions import is_staff_user

from .models import AuditAction, AuditEntry, Report, ReportState, ReportStateChange


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    authority: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one audit row. `authority` (an Authority or its id) defaults to the object's."""
    if authority is None and obj is not None:
        authority = getattr(obj, "authority_id", None)
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_email=getattr(user, "email", "") or "",
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        authority_id=getattr(authority, "pk", authority),
        before=before or {},
        after=after or {},
        ip_address=ip,
    )


def client_ip(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") or None if request is not None else None


_ACTION_FOR_STATE: dict[str, str] = {
    ReportState.SPAM: AuditAction.SPAM,
    ReportState.DUPLICATE: AuditAction.DUPLICATE,
}


def state_change_audit(report: Report, change: ReportStateChange, *, action: str = "") -> None:
    """The audit row of a state change made by staff (a re-route and a public response are
    changes from a state to itself). ``action``: what the service calls it (a response is an
    edit); by default derived from the change."""
    after: dict[str, Any]
    if action:
        after = {"public_note": change.public_note, "internal_note": change.internal_note}
    elif change.from_state == change.to_state:
        action = AuditAction.REROUTE
        after = {"note": change.public_note, "authority": report.authority_id}
        after["category"] = report.category_id
    else:
        action = _ACTION_FOR_STATE.get(change.to_state, AuditAction.TRANSITION)
        after = {"state": change.to_state, "public_note": change.public_note}
        after["internal_note"] = change.internal_note
        if change.to_state == ReportState.DUPLICATE:
            after["duplicate_of"] = report.duplicate_of_id
    audit_record(
        actor=change.actor,
        action=action,
        obj=report,
        before={"state": change.from_state},
        after=after,
    )


# --- Listeners --------------------------------------------------------------------------------


def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    if is_staff_user(user) or getattr(user, "is_staff", False):
        audit_record(actor=user, action=AuditAction.LOGIN, obj=user, ip=client_ip(request))


def connect_signals() -> None:
    user_logged_in.connect(_logged_in, weak=False, dispatch_uid="audit-login")
