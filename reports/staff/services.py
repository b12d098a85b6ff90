"""Staff writes beyond the lifecycle: duplicates, spam, moderation, re-categorising, delivery
resends and bulk actions. Each checks the actor's role at the report's authority once, goes
through the lifecycle services (every change of state, and every public response, is one locked,
recorded, audited reports.services.report_transition) and is audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from authorities import routing
from authorities import services as authority_services
from authorities.models import Authority, Category, StaffRole
from authorities.permissions import membership_role, staff_may, staff_may_somewhere
from config.baseurl import base_url
from config.errors import ApplicationError
from reports import delivery, services
from reports.audit import audit_record
from reports.delivery import council_updates
from reports.exceptions import NotAllowed
from reports.models import (
    AuditAction,
    Delivery,
    EnteredFor,
    Report,
    ReportPhoto,
    ReportState,
    ReportUpdate,
    ResponseTemplate,
    UpdateDelivery,
)
from reports.notes import note_clean
from reports.selectors import reports_visible_to

__all__ = [
    "BulkResult",
    "Caller",
    "delivery_mark_sent_by_staff",
    "delivery_resend_by_staff",
    "report_enter",
    "report_mark_duplicate",
    "report_mark_spam",
    "report_moderate",
    "report_note_add",
    "report_recategorise",
    "report_set_private",
    "reports_bulk",
    "response_template_save",
    "staff_account_set",
]

BULK_ACTIONS = ("verify", "transition", "assign", "spam")
PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{4,28}")
BULK_LIMIT = 500


# --- Notes -------------------------------------------------------------------------------------


def report_note_add(
    *, report_id: int, actor: User, public_note: str = "", internal_note: str = ""
) -> Report:
    """A public response and/or an internal note without a change of state.

    A public response is a history row from the state to itself (report_transition), announced
    like any change so subscribers hear of it, and audited as an edit. An internal note alone
    stays out of the public history (a row there would show the public an empty entry, and e-mail
    followers about nothing): it is an audit row, which the work page lists with the history.
    """
    public_note = note_clean(public_note, field="public_note")
    internal_note = note_clean(internal_note, field="internal_note")
    if public_note:
        return services.report_transition(
            report_id=report_id,
            actor=actor,
            permission="note",
            public_note=public_note,
            internal_note=internal_note,
            audit_action=AuditAction.EDIT,
        )
    return _internal_note_add(report_id, actor, internal_note)


@transaction.atomic
def _internal_note_add(report_id: int, actor: User, internal_note: str) -> Report:
    report = services.locked_for_staff(report_id, actor, "note")
    if not internal_note:
        raise ApplicationError(str(_("Write a note.")))
    report.updated_at = timezone.now()
    report.save(update_fields=["updated_at"])
    after = {"internal_note": internal_note}
    audit_record(actor=actor, action=AuditAction.EDIT, obj=report, after=after)
    return report


# --- Duplicates and spam ------------------------------------------------------------------------


def report_mark_duplicate(
    *, report_id: int, original_id: int, actor: User, public_note: str = ""
) -> Report:
    """Close a report as a duplicate of another and merge its supporters and subscribers (and its
    reporter, as a supporter) into the original, so they hear of the work done there."""
    note = public_note.strip() or str(_("Already reported: see the original report."))
    return services.report_transition(  # which merges the followers (reports.merge)
        report_id=report_id,
        to_state=ReportState.DUPLICATE,
        actor=actor,
        permission="duplicate",
        public_note=note,
        duplicate_of_id=original_id,
    )


def report_mark_spam(*, report_id: int, actor: User, internal_note: str = "") -> Report:
    """Hide a report as spam: a transition (audited as spam), reversible by reopening it."""
    return services.report_transition(
        report_id=report_id,
        to_state=ReportState.SPAM,
        actor=actor,
        permission="spam",
        internal_note=internal_note,
    )


# --- Moderation -------------------------------------------------------------------------------


@transaction.atomic
def report_moderate(
    *,
    report_id: int,
    actor: User,
    title: str | None = None,
    description: str | None = None,
    hide_photo_ids: Iterable[int] = (),
    hide_update_ids: Iterable[int] = (),
    reason: str = "",
) -> Report:
    """Redact a report's text and/or hide photos or citizens' updates. Nothing is deleted: the
    original text is kept in the audit row (administrators read it there), hidden photos and
    updates stay in the database and in the admin."""
    reason = note_clean(reason, field="reason")
    report = services.locked_for_staff(report_id, actor, "moderate")
    before: dict[str, Any] = {}
    after: dict[str, Any] = {"reason": reason}
    _redact(report, title, description, before, after)
    after["hidden_photos"] = _hide(
        ReportPhoto.objects.filter(report=report, is_hidden=False, pk__in=list(hide_photo_ids))
    )
    after["hidden_updates"] = _hide(
        ReportUpdate.objects.filter(report=report, is_hidden=False, pk__in=list(hide_update_ids))
    )
    if len(after) == 3 and not after["hidden_photos"] and not after["hidden_updates"]:
        raise ApplicationError(str(_("Nothing to moderate: change the text or pick a photo.")))
    audit_record(actor=actor, action=AuditAction.MODERATION, obj=report, before=before, after=after)
    return report


def _redact(
    report: Report,
    title: str | None,
    description: str | None,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    new_title = report.title if title is None else title
    new_description = report.description if description is None else description
    new_title, new_description = services._clean_text(new_title, new_description)
    for name, value in (("title", new_title), ("description", new_description)):
        if getattr(report, name) != value:
            before[name], after[name] = getattr(report, name), value
            setattr(report, name, value)
    if "title" in after or "description" in after:
        report.save(update_fields=["title", "description"])


def _hide(items: Any) -> list[int]:
    ids = list(items.values_list("pk", flat=True))
    # A queryset update: these models are not append-only, and no per-row logic runs on hiding.
    items.model.objects.filter(pk__in=ids).update(is_hidden=True)
    return ids


# --- Reports taken for someone else ----------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who staff take a report for: a name, an e-mail and/or a phone number."""

    name: str = ""
    email: str = ""
    phone: str = ""


@transaction.atomic
def report_enter(
    *,
    actor: User,
    entered_for: str,
    title: str,
    description: str,
    category: Category,
    latitude: float,
    longitude: float,
    caller: Caller | None = None,
    show_name: bool = False,
    extra: dict[str, Any] | None = None,
    photo_tokens: Iterable[str] = (),
) -> Report:
    """Staff take a report for a caller (contact centre, counter), for someone anonymous, or as
    their authority (an inspector's own finding). It needs the ``file_on_behalf`` permission at
    the authority the report is routed to; the report is open at once (staff vouch for it), its
    first history row and ``entered_by`` name the staff member, the caller's e-mail gets the
    confirmation and the updates without an account. Audited."""
    refusal = _("Only staff with the permission can file reports for someone else.")
    if not staff_may_somewhere(actor, "file_on_behalf"):  # before routing: the same 403 always
        raise NotAllowed(str(refusal))
    authority = routing.responsible_authority(float(latitude), float(longitude), category.id)
    if not staff_may(actor, authority.id, "file_on_behalf"):
        raise NotAllowed(
            str(_("Your role at %(name)s does not allow filing reports for others."))
            % {"name": authority.name}
        )
    name, email, phone = _caller_contact(entered_for, caller or Caller(), authority.name)
    report = services.report_create(
        title=title,
        description=description,
        category=category,
        latitude=latitude,
        longitude=longitude,
        reporter_name=name,
        reporter_email=email,
        reporter_phone=phone,
        show_name=show_name or entered_for == EnteredFor.AUTHORITY,
        extra=extra,
        photo_tokens=list(photo_tokens),
        entered_by=actor,
        entered_for=entered_for,
    )
    after = {"for": entered_for, "name": name, "email": email, "phone": phone}
    audit_record(actor=actor, action=AuditAction.ENTERED, obj=report, after=after)
    return report


def _caller_contact(entered_for: str, caller: Caller, authority_name: str) -> tuple[str, str, str]:
    """(name, e-mail, phone) to keep for the report: the caller's, checked; none for someone
    anonymous; the authority's name for its own finding."""
    if entered_for == EnteredFor.AUTHORITY:
        return authority_name, "", ""
    if entered_for == EnteredFor.ANONYMOUS:
        return "", "", ""
    if entered_for != EnteredFor.CALLER:
        raise DjangoValidationError({"entered_for": _("Say for whom the report is filed.")})
    name, email = " ".join(caller.name.split()), caller.email.strip().lower()
    phone = " ".join(caller.phone.split())
    errors: dict[str, str] = {}
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = _("Enter a valid e-mail address.")
    if phone and not PHONE.fullmatch(phone):
        errors["phone"] = _("Enter a phone number: digits, spaces and + - ( ) only.")
    if not (name or email or phone):
        errors["name"] = _("Give the caller's name, e-mail or phone (or file it anonymously).")
    if errors:
        raise DjangoValidationError(errors)
    return name, email, phone


# --- Privacy ----------------------------------------------------------------------------------


@transaction.atomic
def report_set_private(*, report_id: int, actor: User, private: bool, reason: str = "") -> Report:
    """Make a report private (shown only to its reporter and the authority's staff, worked as
    usual) or public again. Its map tiles follow the save (reports.map); audited."""
    reason = note_clean(reason, field="reason")
    report = services.locked_for_staff(report_id, actor, "privacy")
    if report.is_private == private:
        raise ApplicationError(
            str(
                _("The report is already private.")
                if private
                else _("The report is already public.")
            )
        )
    report.is_private = private
    report.save(update_fields=["is_private"])
    audit_record(
        actor=actor,
        action=AuditAction.PRIVACY,
        obj=report,
        before={"private": not private},
        after={"private": private, "reason": reason},
    )
    return report


# --- Re-categorising and delivery ---------------------------------------------------------------


def report_recategorise(*, report_id: int, category: Category, actor: User) -> Report:
    """Change a report's category: routed again, handed over (and delivered) to another authority
    if that one is now responsible; the history and the audit log say so."""
    # report_reroute locks the row and checks the "recategorise" permission itself.
    return delivery.report_reroute(report_id=report_id, category=category, actor=actor)


def delivery_resend_by_staff(*, delivery_id: int, actor: User) -> Delivery:
    """An administrator of the report's authority sends a delivery again."""
    return _delivery_by_staff(delivery_id, actor, delivery.delivery_resend, {"resend": True})


def delivery_mark_sent_by_staff(*, delivery_id: int, actor: User) -> Delivery:
    """An administrator records that the authority has the report by other means."""
    return _delivery_by_staff(
        delivery_id, actor, delivery.delivery_mark_sent, {"marked_sent": True}
    )


@transaction.atomic
def _delivery_by_staff(
    delivery_id: int, actor: User, act: Callable[..., Delivery], what: dict[str, bool]
) -> Delivery:
    found = Delivery.objects.select_related("report").get(pk=delivery_id)
    if not staff_may(actor, found.report.authority_id, "resend"):
        raise NotAllowed(str(_("Your role at this authority does not allow that.")))
    before = {"status": found.status, "last_error": found.last_error}
    done = act(delivery_id=delivery_id)
    audit_record(
        actor=actor,
        action=AuditAction.DELIVERY,
        obj=done,
        authority=found.report.authority_id,
        before=before,
        after={"status": done.status, **what},
    )
    return done


@transaction.atomic
def update_delivery_resend_by_staff(*, update_delivery_id: int, actor: User) -> UpdateDelivery:
    """An administrator of the report's authority sends a citizen's update to it again."""
    found = UpdateDelivery.objects.get(pk=update_delivery_id)
    if not staff_may(actor, found.authority_id, "resend"):
        raise NotAllowed(str(_("Your role at this authority does not allow that.")))
    before = {"status": found.status, "last_error": found.last_error}
    done = council_updates.update_delivery_resend(update_delivery_id=update_delivery_id)
    audit_record(
        actor=actor,
        action=AuditAction.DELIVERY,
        obj=done,
        authority=found.authority_id,
        before=before,
        after={"status": done.status, "resend": True},
    )
    return done


# --- Staff accounts ------------------------------------------------------------------------------


@dataclass
class StaffAccount:
    user: User
    created: bool
    set_password_url: str  # empty when a password was given


@transaction.atomic
def staff_account_set(
    *, email: str, authority: Authority, role: str, password: str | None = None
) -> StaffAccount:
    """Create or update a staff account: its address verified (an operator vouches for it), a
    membership of the authority with the role, and a password or a link to set one."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.password_validation import validate_password

    if role not in StaffRole.values:
        raise ApplicationError(f"Choose a role among {', '.join(StaffRole.values)}.")
    email = _clean_email(email)
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if user is None:
        user = User.objects.create_user(email, None)
    if password is not None:
        validate_password(password, user)
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    before = {"role": membership_role(user, authority.pk)}
    authority_services.staff_membership_set(user=user, authority=authority, role=role)
    audit_record(
        actor=None,
        action=AuditAction.EDIT,
        obj=user,
        authority=authority,
        before=before,
        after={"role": role, "created": created},
    )
    link = "" if password is not None else _set_password_url(user)
    return StaffAccount(user=user, created=created, set_password_url=link)


def _clean_email(email: str) -> str:
    from django.core.validators import validate_email

    email = email.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ApplicationError(f"{email!r} is not an e-mail address.") from None
    return email


def _set_password_url(user: User) -> str:
    """allauth's own password-reset link (the same a "forgot password" e-mail carries)."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str
    from django.urls import reverse

    key = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
    return base_url() + path.replace("UID-KEY", key)


# --- Response templates -------------------------------------------------------------------------


@transaction.atomic
def response_template_save(*, template: ResponseTemplate, actor: User) -> ResponseTemplate:
    """Create or change a response template: administrators of its authority, or superusers
    (the only ones who keep templates for every authority)."""
    if not (actor.is_superuser or staff_may(actor, template.authority_id, "templates")):
        raise NotAllowed(str(_("Only administrators of the authority keep its templates.")))
    template.text = note_clean(template.text, field="text")
    template.full_clean()
    before = {}
    if template.pk is not None:
        old = ResponseTemplate.objects.get(pk=template.pk)
        before = {"title": old.title, "text": old.text, "state": old.state}
    template.save()
    after = {"title": template.title, "text": template.text, "state": template.state}
    audit_record(actor=actor, action=AuditAction.EDIT, obj=template, before=before, after=after)
    return template


# --- Bulk actions -------------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)  # references
    failed: dict[str, str] = field(default_factory=dict)  # reference -> why


def reports_bulk(
    *,
    report_ids: Iterable[int],
    action: str,
    actor: User,
    to_state: str = "",
    public_note: str = "",
    assignee: User | None = None,
) -> BulkResult:
    """Apply one action to each selected report, each in its own transaction (one locked,
    recorded, audited transition per report): one report that cannot move does not stop the
    others, and the result says which failed and why."""
    if action not in BULK_ACTIONS:
        raise ApplicationError(str(_("Unknown bulk action %(action)s.")) % {"action": action})
    ids = list(dict.fromkeys(report_ids))[:BULK_LIMIT]
    # Reports the actor may not see are skipped without a word: naming them would leak them.
    refs = dict(reports_visible_to(actor).filter(pk__in=ids).values_list("pk", "ref"))
    result = BulkResult()
    for report_id in ids:
        ref = refs.get(report_id)
        if ref is None:
            continue
        try:
            _bulk_one(report_id, action, actor, to_state, public_note, assignee)
        except ApplicationError as exc:
            result.failed[ref] = exc.message
        else:
            result.done.append(ref)
    return result


def _bulk_one(
    report_id: int,
    action: str,
    actor: User,
    to_state: str,
    public_note: str,
    assignee: User | None,
) -> None:
    if action == "assign":
        services.report_assign(report_id=report_id, assignee=assignee, actor=actor)
    elif action == "spam":
        report_mark_spam(report_id=report_id, actor=actor)
    else:
        state = ReportState.VERIFIED if action == "verify" else to_state
        services.report_transition(
            report_id=report_id, to_state=state, actor=actor, public_note=public_note
        )
