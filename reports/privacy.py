"""Account care: a person's data to download, account deletion, bans, anonymisation, inactivity.

Lives in reports because what a person leaves behind is reports, updates, "me too"s and alerts
(and the outbox that e-mails them); gamification adds its points through the signals
`personal_data_requested` and `personal_data_anonymised` (reports.signals). Every action on an
account leaves an audit row (AuditAction.ACCOUNT). Erasing keeps the account's row, without
anything that names the person, so that history rows and the points ledger keep their links:
reports and updates stay public, anonymous, with their timelines intact.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.models import ApiClient, IdempotencyKey, User
from authorities.models import StaffMembership
from config.aftercommit import after_commit

from . import delivery, notifications
from .audit import audit_record
from .models import (
    AuditAction,
    Delivery,
    DeliveryStatus,
    Notification,
    Questionnaire,
    Report,
    ReportPhoto,
    ReportState,
    ReportUpdate,
    Subscription,
    Support,
)
from .signals import personal_data_anonymised, personal_data_requested

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: a name that can never receive e-mail
WARNING_KIND = "account_inactive"


# --- The download ------------------------------------------------------------------------------


@dataclass
class DataExport:
    """A person's data: JSON sections and the files (photos) that go with them."""

    sections: dict[str, Any] = field(default_factory=dict)
    files: list[tuple[str, File[Any]]] = field(default_factory=list)

    def add(self, name: str, data: Any) -> None:
        self.sections[name] = data

    def as_json(self) -> bytes:
        return json.dumps(
            self.sections, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False
        ).encode()

    def as_zip(self) -> bytes:
        """data.json and the photos, by the names data.json gives them."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("data.json", self.as_json())
            for name, stored in self.files:
                try:
                    with stored.open("rb") as handle:
                        archive.writestr(name, handle.read())
                except OSError:  # a photo lost from storage: the rest of the data still comes
                    archive.writestr(f"{name}.missing.txt", "This photo could not be read.")
        return out.getvalue()


def account_data_export(*, user: User) -> DataExport:
    """Everything Fixpoint keeps about the person, as they would want to take it away."""
    export = DataExport()
    export.add("account", _account(user))
    reports = list(_own_reports(user).select_related("category", "authority"))
    export.add("reports", [_report(r) for r in reports])
    updates = list(ReportUpdate.objects.filter(author=user).select_related("report"))
    export.add("updates", [_update(u) for u in updates])
    export.add(
        "supports", list(Support.objects.filter(user=user).values("report__ref", "created_at"))
    )
    export.add(
        "alerts",
        [_alert(s) for s in _own_alerts(user).select_related("report", "area", "authority")],
    )
    export.add("questionnaires", _questionnaires(reports))
    export.add("photos", _photos(export, reports, updates))
    personal_data_requested.send(sender=User, user=user, export=export)
    return export


def _own_reports(user: User) -> QuerySet[Report]:
    return Report.objects.filter(
        Q(reporter=user) | Q(reporter__isnull=True, reporter_email__iexact=user.email)
    )


def _own_alerts(user: User) -> QuerySet[Subscription]:
    return Subscription.objects.filter(Q(user=user) | Q(email__iexact=user.email))


def _account(user: User) -> dict[str, Any]:
    fields = ("email", "first_name", "last_name", "display_name", "date_joined", "last_login")
    return {name: getattr(user, name) for name in fields}


def _report(report: Report) -> dict[str, Any]:
    return {
        "ref": report.ref,
        "url": notifications.absolute(report.get_absolute_url()),
        "title": report.title,
        "description": report.description,
        "category": report.category.name,
        "authority": report.authority.name,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "state": report.state,
        "answers": report.extra,
        "name_given": report.reporter_name,
        "email_given": report.reporter_email,
        "show_name": report.show_name,
        "created_at": report.created_at,
    }


def _update(update: ReportUpdate) -> dict[str, Any]:
    return {
        "report": update.report.ref,
        "text": update.text,
        "opinion": update.opinion,
        "show_name": update.show_name,
        "created_at": update.created_at,
    }


def _alert(subscription: Subscription) -> dict[str, Any]:
    return {
        "email": subscription.email,
        "about": subscription.describe(),
        "frequency": subscription.frequency,
        "active": subscription.is_active,
        "created_at": subscription.created_at,
    }


def _questionnaires(reports: list[Report]) -> list[dict[str, Any]]:
    asked = Questionnaire.objects.filter(report__in=reports).select_related("report")
    return [
        {
            "report": q.report.ref,
            "sent_at": q.sent_at,
            "answer": q.answer,
            "comment": q.comment,
            "answered_at": q.answered_at,
        }
        for q in asked
    ]


def _photos(
    export: DataExport, reports: list[Report], updates: list[ReportUpdate]
) -> list[dict[str, Any]]:
    photos = ReportPhoto.objects.filter(
        Q(report__in=reports, update=None) | Q(update__in=updates)
    ).select_related("report")
    listed = []
    for n, photo in enumerate(photos, 1):
        ref = photo.report.ref if photo.report else "unfiled"
        name = f"photos/{ref}-{n}{_suffix(photo.image.name or '')}"
        export.files.append((name, photo.image))
        listed.append(
            {
                "file": name,
                "report": photo.report.ref if photo.report else None,
                "created_at": photo.created_at,
            }
        )
    return listed


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > name.rfind("/") else ""


# --- Hiding and erasing ------------------------------------------------------------------------


@transaction.atomic
def account_anonymise(*, user_id: int, actor: User | None, ip: str | None = None) -> User:
    """An administrator hides a person everywhere: their name comes off every report and update
    they posted (and the leaderboards); the account itself stays as it is."""
    user = User.objects.select_for_update().get(pk=user_id)
    counts = _hide_everywhere(user)
    personal_data_anonymised.send(sender=User, user=user, erase=False)
    _audit(actor, user, "anonymise", after=counts, ip=ip)
    return user


@transaction.atomic
def account_delete(
    *, user_id: int, actor: User | None, reason: str = "", ip: str | None = None
) -> User:
    """The person deletes their account, or an administrator removes it (or inactivity does):
    their personal data is erased and their alerts stop; their reports and updates stay public,
    anonymous, with their history. The row stays, naming nobody, so history keeps its links."""
    user = User.objects.select_for_update().get(pk=user_id)
    if user.erased_at is not None:
        return user
    if actor is not None and actor.pk == user.pk:
        actor = user  # the audit row names the erased account, not the address it had
    email = user.email
    counts = _hide_everywhere(user)
    counts |= _erase_contact(user, email)
    personal_data_anonymised.send(sender=User, user=user, erase=True)
    _erase_account(user)
    _audit(
        actor, user, "delete", before={"reason": reason} if reason else None, after=counts, ip=ip
    )
    return user


def _hide_everywhere(user: User) -> dict[str, int]:
    reports = _own_reports(user).update(show_name=False, reporter_name="")
    updates = ReportUpdate.objects.filter(author=user).update(show_name=False, author_name="")
    return {"reports": reports, "updates": updates}


def _erase_contact(user: User, email: str) -> dict[str, int]:
    mine = _own_reports(user)
    unconfirmed, _ = mine.filter(state=ReportState.UNCONFIRMED).delete()  # never public
    mine.update(reporter=None, reporter_email="")
    ReportUpdate.objects.filter(author=user).update(author=None)
    alerts, _ = _own_alerts(user).delete()  # with their pending e-mails (SET_NULL: below)
    Notification.objects.filter(to_email__iexact=email).delete()
    return {"unconfirmed_deleted": unconfirmed, "alerts_deleted": alerts}


def _erase_account(user: User) -> None:
    EmailAddress.objects.filter(user=user).delete()
    Token.objects.filter(user=user).delete()
    IdempotencyKey.objects.filter(scope=f"user:{user.pk}").delete()  # answers hold what they sent
    ApiClient.objects.filter(user=user).update(is_active=False)
    StaffMembership.objects.filter(user=user).delete()
    user.email = f"erased-{user.pk}@{ERASED_DOMAIN}"
    user.first_name = user.last_name = user.display_name = ""
    user.set_unusable_password()  # also ends every session: their hash no longer matches
    user.is_active = user.is_staff = user.is_superuser = False
    user.erased_at = timezone.now()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()


# --- Bans --------------------------------------------------------------------------------------


@transaction.atomic
def account_ban(*, user_id: int, actor: User | None, reason: str, ip: str | None = None) -> User:
    """The account can no longer log in or file (nor can its address); deliveries of its
    reports not yet sent are held, and its unconfirmed reports cannot be confirmed."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": _("Say why the account is banned.")})
    user = User.objects.select_for_update().get(pk=user_id)
    if user.is_superuser:
        raise ValidationError({"reason": _("A superuser cannot be banned; remove the role first.")})
    user.banned_at, user.ban_reason, user.is_active = timezone.now(), reason[:500], False
    user.save(update_fields=["banned_at", "ban_reason", "is_active"])
    held = (
        _deliveries_of(user)
        .filter(status=DeliveryStatus.PENDING)
        .update(status=DeliveryStatus.HELD)
    )
    Token.objects.filter(user=user).delete()
    _audit(actor, user, "ban", after={"reason": user.ban_reason, "deliveries_held": held}, ip=ip)
    return user


@transaction.atomic
def account_unban(*, user_id: int, actor: User | None, ip: str | None = None) -> User:
    user = User.objects.select_for_update().get(pk=user_id)
    if user.banned_at is None:
        return user
    before = {"reason": user.ban_reason, "banned_at": user.banned_at}
    user.banned_at, user.ban_reason, user.is_active = None, "", True
    user.save(update_fields=["banned_at", "ban_reason", "is_active"])
    held = list(
        _deliveries_of(user).filter(status=DeliveryStatus.HELD).values_list("pk", flat=True)
    )
    Delivery.objects.filter(pk__in=held).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
    )
    for delivery_id in held:
        after_commit(delivery.wake_workers, delivery_id)
    _audit(actor, user, "unban", before=before, after={"deliveries_released": len(held)}, ip=ip)
    return user


def _deliveries_of(user: User) -> QuerySet[Delivery]:
    return Delivery.objects.filter(report__in=_own_reports(user))


# --- Inactive accounts -------------------------------------------------------------------------


def accounts_inactive_process(*, now: datetime | None = None) -> tuple[int, int]:
    """Warn accounts unused for ACCOUNT_INACTIVE_DAYS less the warning period, and erase those
    still unused once the warning is that old. Returns (warned, erased). Off when the setting
    is 0. Staff and administrators are never touched: their accounts are the council's."""
    days = settings.FIXPOINT_ACCOUNT_INACTIVE_DAYS
    if days <= 0:
        return 0, 0
    now = now or timezone.now()
    warning = timedelta(days=settings.FIXPOINT_ACCOUNT_INACTIVE_WARNING_DAYS)
    candidates = _inactive_since(now - timedelta(days=days) + warning)
    warned = sum(
        _warn(pk, now) for pk in candidates.filter(_not_warned()).values_list("pk", flat=True)
    )
    due = candidates.filter(  # type: ignore[misc]  # last_active is an annotation
        last_active__lt=now - timedelta(days=days), inactivity_warned_at__lte=now - warning
    )
    erased = 0
    for pk in due.filter(~_not_warned()).values_list("pk", flat=True):
        account_delete(user_id=pk, actor=None, reason="inactive")
        erased += 1
    return warned, erased


def _inactive_since(cutoff: datetime) -> QuerySet[User]:
    """Citizens' accounts not used since the cutoff: no log-in, report or update."""
    return (
        User.objects.filter(is_active=True, is_staff=False, is_superuser=False, erased_at=None)
        .exclude(memberships__isnull=False)
        .annotate(
            last_active=Greatest(
                Coalesce("last_login", "date_joined"),
                Coalesce(Max("reports__created_at"), "date_joined"),
                Coalesce(Max("reportupdate__created_at"), "date_joined"),
            )
        )
        .filter(last_active__lt=cutoff)
    )


def _not_warned() -> Q:
    # A warning given before the person was last active no longer counts.
    return Q(inactivity_warned_at=None) | Q(inactivity_warned_at__lt=F("last_active"))


@transaction.atomic
def _warn(user_id: int, now: datetime) -> bool:
    user = User.objects.select_for_update().get(pk=user_id)
    when = now + timedelta(days=settings.FIXPOINT_ACCOUNT_INACTIVE_WARNING_DAYS)
    with translation.override(user.language or settings.LANGUAGE_CODE):
        body = render_to_string(
            "emails/account_inactive.txt",
            {
                "user": user,
                "when": when,
                "login": notifications.absolute(reverse("account_login")),
                "privacy": notifications.absolute(reverse("reports:privacy")),
            },
        )
        subject = str(_("Your Fixpoint account will be anonymised"))
        notifications.email_enqueue(to=user.email, kind=WARNING_KIND, subject=subject, body=body)
    user.inactivity_warned_at = now
    user.save(update_fields=["inactivity_warned_at"])
    _audit(None, user, "inactivity_warning", after={"erase_after": when})
    return True


def _audit(
    actor: User | None,
    user: User,
    what: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.ACCOUNT,
        obj=user,
        before=before,
        after={"action": what, **(after or {})},
        ip=ip,
    )
