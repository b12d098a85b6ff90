"""Writes to reports: creating, confirming, moving through states and citizens' updates."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from authorities import routing
from authorities.exceptions import InvalidLocation
from authorities.geocoding.selectors import nearby_label
from authorities.models import Area, Category
from authorities.permissions import is_staff_of, staff_may
from config import inserts
from config.aftercommit import after_commit

from . import jobs
from .answers import clean_answers
from .audit import audit_record, state_change_audit
from .exceptions import AccountBanned, InvalidTransition, NoSuchOriginal, NotAllowed
from .merge import followers_merge
from .models import (
    FINISHED_STATES,
    HIDDEN_STATES,
    OPEN_STATES,
    TRANSITIONS,
    Actor,
    Opinion,
    Priority,
    Report,
    ReportPhoto,
    ReportState,
    ReportStateChange,
    ReportUpdate,
    Subscription,
    Support,
)
from .notes import note_clean
from .selectors import duplicate_originals, withdrawal_latest, withdrawal_undo_until
from .signals import report_state_changed, report_supported, report_update_added

if TYPE_CHECKING:
    from .photos import PixelBudget

REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
REF_ATTEMPTS = 5


def report_create(
    *,
    title: str,
    description: str,
    category: Category,
    latitude: float,
    longitude: float,
    reporter: User | None = None,
    reporter_name: str = "",
    reporter_email: str = "",
    show_name: bool = False,
    extra: dict[str, Any] | None = None,
    photo_tokens: Sequence[str] = (),
    at: datetime | None = None,
    filed_by: User | None = None,
    entered_by: User | None = None,
    entered_for: str = "",
    reporter_phone: str = "",
) -> Report:
    """File a report, routed to the authority responsible for that spot and category.

    A signed-in reporter's report is open at once; anybody else's waits unconfirmed (never public,
    never sent) until they follow the link e-mailed to them. ``filed_by``: the account that filed
    it for someone else (an API key filing for a citizen, reports.filers), recorded as the actor
    of its first history row. ``entered_by``: staff who took it for someone else (``entered_for``,
    reports.staff.services.report_enter, which checks their permission): open at once too.
    """
    title, description = _clean_text(title, description)
    if reporter is None and entered_by is None:  # staff checked the caller's contact already
        reporter_name, reporter_email = _clean_contact(reporter_name, reporter_email)
    _check_not_banned(reporter, reporter_email)
    authority = _route(latitude, longitude, category)
    now = at or timezone.now()
    vouched = reporter is not None or entered_by is not None
    deferred = vouched and jobs.coalescing()  # a worker follows it up (reports.followups)
    report = Report(
        title=title,
        description=description,
        category=category,
        latitude=latitude,
        longitude=longitude,
        # As routing knows them, boundaries deferred: whatever names them later in the request
        # (the REST and Open311 answers, the area alerts) costs no query and decodes no polygon.
        authority=routing.authority_model(authority),
        area=_area(latitude, longitude),
        # Left to the worker with the rest of the follow-up when deferred (reports.followups).
        address="" if deferred else nearby_label(latitude, longitude),
        extra=clean_answers(category.questions.all(), extra or {}),
        reporter=reporter,
        reporter_name=reporter_name,
        reporter_email=reporter_email,
        reporter_phone=reporter_phone,
        show_name=show_name,
        entered_by=entered_by,
        entered_for=entered_for,
        is_private=category.non_public,
        state=ReportState.OPEN if vouched else ReportState.UNCONFIRMED,
        created_at=now,
        updated_at=now,
        confirmed_at=now if vouched else None,
        follow_up_due=deferred,  # see reports.followups
    )
    _file_with_new_ref(report, entered_by or filed_by or reporter, photo_tokens)
    if report.follow_up_due:
        after_commit(jobs.follow_ups_wake)
    return report


def _area(latitude: float, longitude: float) -> Area | None:
    area = routing.get_index().area_at(float(latitude), float(longitude))
    return routing.area_model(area) if area else None


def _file_with_new_ref(report: Report, actor: User | None, photo_tokens: Sequence[str]) -> None:
    for attempt in range(REF_ATTEMPTS):
        report.ref = _new_ref()
        try:
            report_transition(filed=report, actor=actor, photo_tokens=photo_tokens)
            return
        except IntegrityError:
            # A random ref is taken about once in 34,000 filings at a million reports: checking
            # first would cost every filing a query. The insert rolled back: try another ref.
            if attempt == REF_ATTEMPTS - 1 or not Report.objects.filter(ref=report.ref).exists():
                raise


@contextlib.contextmanager
def _inserted(
    report: Report, first: ReportStateChange, photo_tokens: Sequence[str]
) -> Iterator[None]:
    """Insert a new report and its first history row; the body announces it.

    When a worker follows the filing up and there are no photos, nothing else is written with
    them: that is one statement (config.inserts), and the receivers, which have nothing to write
    (reports.apps), hear of it afterwards. A ref clash there inserts nothing and raises no
    database error, so a caller's transaction needs no savepoint. Otherwise the announcement is
    part of the insert's transaction, so what the receivers write commits or rolls back with the
    report."""
    if report.follow_up_due and not photo_tokens and inserts.available():
        inserts.insert_with_child(report, first, "report")  # a clash spoils no transaction
        first.report = report
        yield
        return
    with transaction.atomic():
        report.save(force_insert=True)
        _claim_photos(photo_tokens, report=report)
        first.report = report
        first.save(force_insert=True)
        yield


def report_confirm(*, report_id: int, at: datetime | None = None) -> Report:
    """The reporter followed their confirmation link: the report becomes open (unless the
    address belongs to an account banned meanwhile: the report is held, unconfirmed)."""
    report = Report.objects.select_related("reporter").get(pk=report_id)
    _check_not_banned(report.reporter, report.reporter_email)
    return report_transition(report_id=report_id, to_state=ReportState.OPEN, at=at)


def _check_not_banned(reporter: User | None, email: str) -> None:
    """A banned account files nothing, signed in or by its address (reports.privacy)."""
    if reporter is not None:
        if reporter.banned_at is not None:
            raise AccountBanned()
    elif User.objects.filter(email__iexact=email, banned_at__isnull=False).exists():
        raise AccountBanned()


class Amendment(NamedTuple):
    """What an ``amend`` of report_transition changed on the report, for its history row."""

    public_note: str
    internal_note: str = ""


def report_transition(
    *,
    report_id: int | None = None,
    to_state: str | None = None,
    actor: User | None = None,
    public_note: str = "",
    internal_note: str = "",
    duplicate_of_id: int | None = None,
    at: datetime | None = None,
    by_reporter_link: bool = False,
    undoing: ReportStateChange | None = None,
    permission: str = "",
    via: User | None = None,
    audit_action: str = "",
    amend: Callable[[Report], Amendment | None] | None = None,
    filed: Report | None = None,
    photo_tokens: Sequence[str] = (),
) -> Report:
    """Record a change of a report's state: the one way it happens, and the only code that writes
    a history row or sends ``report_state_changed`` (tests/reports/test_one_way_to_change_state.py
    holds every other module to that).

    The row is locked first: two staff members verifying at the same moment must not both record
    a change (and, later, both award points for it). Then, once: the actor's kind and permission
    (``permission``: the staff permission of a staff action, e.g. "spam"; by default "transition",
    or the reporter), the transition table, the milestones, the history row, the audit row when
    staff act, and the signal, all in one transaction.

    ``to_state`` None: the state stays (a public response, a re-route), recorded as a change from
    the state to itself. ``by_reporter_link``: the reporter, proven by a signed link sent to their
    address (a questionnaire), who may have no account. ``via``: an authority's own system acting
    through the key of one of its staff (Open311), whose role is checked; the change is the
    system's. ``undoing``: the reporter's own withdrawal, which they may reverse outside the table
    (see report_withdraw_undo). ``amend``: changes the locked report before it is recorded
    (reports.delivery.reroute) and returns the notes, or None when nothing changed (then nothing
    is recorded). ``filed``: a new report, inserted with its first history row (report_create).
    """
    if filed is not None:
        first = ReportStateChange(
            from_state="",
            to_state=filed.state,
            actor=actor,
            actor_kind=Actor.REPORTER,
            created_at=filed.created_at,
        )
        with _inserted(filed, first, photo_tokens):
            # created: the report is new, so receivers know that nothing they would write for it
            # (a subscription, a delivery) can exist yet, and need not look.
            report_state_changed.send(sender=Report, report=filed, change=first, created=True)
        return filed
    public_note = note_clean(public_note, field="public_note").strip()
    internal_note = note_clean(internal_note, field="internal_note").strip()
    with transaction.atomic():
        report = _locked(report_id)
        kind, actor = _acting(report, actor, permission, via, by_reporter_link)
        if amend is not None:
            amended = amend(report)
            if amended is None:
                return report
            public_note, internal_note = amended
        _check_move(report, to_state, kind, via, undoing, public_note, internal_note)
        now = at or timezone.now()
        from_state = report.state
        if to_state is None:
            report.updated_at = now
        else:
            _apply(report, to_state, now, duplicate_of_id, actor)
        report.save()
        if to_state == ReportState.DUPLICATE and report.duplicate_of is not None:
            followers_merge(duplicate=report, original=report.duplicate_of)
        change = ReportStateChange.objects.create(
            report=report,
            from_state=from_state,
            to_state=report.state,
            actor=actor,
            actor_kind=kind,
            public_note=public_note,
            internal_note=internal_note,
            created_at=now,
        )
        if kind == Actor.STAFF and actor is not None:
            state_change_audit(report, change, action=audit_action)
        report_state_changed.send(sender=Report, report=report, change=change, created=False)
        if to_state and report.follow_up_due and report.is_shown:  # e.g. restored from spam
            after_commit(jobs.follow_ups_wake)  # before its follow-up
    return report


@transaction.atomic
def report_update_add(
    *,
    report_id: int,
    author: User | None,
    text: str,
    opinion: str = Opinion.NONE,
    author_name: str = "",
    show_name: bool = False,
    photo_tokens: Sequence[str] = (),
    at: datetime | None = None,
) -> ReportUpdate:
    """A citizen's update. When the reporter says it is fixed (or, on a fixed report, that it is
    still a problem) the report moves too, with the update's text as the public note."""
    report = Report.objects.select_for_update().get(pk=report_id)
    if report.state in HIDDEN_STATES:
        raise NotAllowed(_("Updates can only be added to public reports."))
    text = text.strip()
    if not text:
        raise ValidationError({"text": _("Write something in the update.")})
    if opinion not in Opinion.values:
        raise ValidationError(
            {"opinion": _("%(value)s is not a valid choice.") % {"value": repr(opinion)}}
        )
    update = ReportUpdate.objects.create(
        report=report,
        author=author,
        author_name=author_name.strip() or (author.public_name if author else ""),
        text=text,
        opinion=opinion,
        show_name=show_name,
        created_at=at or timezone.now(),
    )
    _claim_photos(photo_tokens, report=report, update=update)
    _move_on_reporter_opinion(report, author, opinion, text, at)
    report_update_added.send(sender=ReportUpdate, update=update)
    return update


@transaction.atomic
def report_edit(
    *, report_id: int, user: User, title: str, description: str, show_name: bool
) -> Report:
    """The reporter corrects their report while nobody has acted on it yet."""
    report = Report.objects.select_for_update().get(pk=report_id)
    _check_reporter_may_change(report, user)
    report.title, report.description = _clean_text(title, description)
    report.show_name = show_name
    report.updated_at = timezone.now()
    report.save(update_fields=["title", "description", "show_name", "updated_at"])
    return report


@transaction.atomic
def report_withdraw(*, report_id: int, user: User) -> Report | None:
    """The reporter takes their report back: an unconfirmed one is deleted (it was never
    public), an open one is closed with a public note, so the authority sees why."""
    report = Report.objects.select_for_update().get(pk=report_id)
    _check_reporter_may_change(report, user)
    if report.state == ReportState.UNCONFIRMED:
        report.delete()
        return None
    return report_transition(
        report_id=report.pk,
        to_state=ReportState.CLOSED,
        actor=user,
        public_note=str(_("Withdrawn by the reporter.")),
    )


@transaction.atomic
def report_withdraw_undo(*, report_id: int, user: User, at: datetime | None = None) -> Report:
    """The reporter takes their withdrawal back within WITHDRAW_UNDO_MINUTES: the report returns
    to the state it was withdrawn from, through report_transition like any move (its receivers
    run, the history records it with a public note)."""
    report = Report.objects.select_for_update().get(pk=report_id)
    if report.reporter_id is None or report.reporter_id != user.pk:
        raise NotAllowed(str(_("Only the person who reported this can change it.")))
    withdrawal = withdrawal_latest(report.pk)
    now = at or timezone.now()
    if withdrawal is None or withdrawal_undo_until(withdrawal) < now:
        raise NotAllowed(str(_("This withdrawal can no longer be undone.")))
    return report_transition(
        report_id=report.pk,
        to_state=withdrawal.from_state,
        actor=user,
        public_note=str(_("The reporter undid the withdrawal.")),
        at=now,
        undoing=withdrawal,
    )


@transaction.atomic
def user_hide_name(*, user: User) -> int:
    """Stop showing the person's name on everything they have posted."""
    reports = Report.objects.filter(reporter=user, show_name=True).update(show_name=False)
    updates = ReportUpdate.objects.filter(author=user, show_name=True).update(show_name=False)
    return reports + updates


@transaction.atomic
def support_add(*, report_id: int, user: User | None = None, email: str = "") -> bool:
    """Add a "me too" to an open report. Returns False when this person had already done so."""
    report = Report.objects.select_for_update().get(pk=report_id)
    if not report.is_open:
        raise NotAllowed(str(_("Only open reports can be supported.")))
    if user is not None and report.reporter_id == user.pk:
        raise NotAllowed(str(_("You reported this problem yourself.")))
    if user is None:
        email = _clean_contact("-", email)[1]
        found = Support.objects.filter(report=report, email=email)
    else:
        email = ""
        found = Support.objects.filter(report=report, user=user)
    if found.exists():
        return False
    Support.objects.create(report=report, user=user, email=email)
    count = Support.objects.filter(report=report).count()
    report_supported.send(sender=Report, report=report, count=count)
    return True


def report_expire_unconfirmed(*, now: datetime | None = None) -> int:
    """Delete unconfirmed reports older than the configured time: they were never public, and
    their reporters' contact details should not stay."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.FIXPOINT_UNCONFIRMED_TTL_HOURS)
    stale = Report.objects.filter(state=ReportState.UNCONFIRMED, created_at__lt=cutoff)
    with transaction.atomic():
        # Locked first: a confirmation arriving at this moment either wins or waits and fails.
        ids = list(stale.select_for_update().values_list("pk", flat=True))
        _, per_model = Report.objects.filter(pk__in=ids).delete()
    return per_model.get("reports.Report", 0)


@transaction.atomic
def photo_upload(
    *, upload: IO[bytes], token: str, budget: PixelBudget | None = None
) -> ReportPhoto:
    """Check, clean and keep an uploaded photo until the form it came with is accepted. The
    caller has validated the rest of the form and checked the rate limit: decoding is the
    expensive part. `budget` is shared by the photos of one request."""
    from .photos import process_photo

    processed = process_photo(upload, budget=budget)
    photo = ReportPhoto(upload_token=token)
    photo.image.save(processed.content.name or "photo.jpg", processed.content, save=False)
    photo.save()
    return photo


def photo_discard_stale(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete uploads whose form was never sent (and their files)."""
    stale = ReportPhoto.objects.filter(
        report__isnull=True, created_at__lt=timezone.now() - older_than
    )
    count = 0
    for photo in stale:
        photo.image.delete(save=False)
        photo.delete()
        count += 1
    return count


@transaction.atomic
def account_create_for_reporter(*, report_id: int, password: str) -> User:
    """After confirming a report by e-mail, the reporter may keep an account: the address is
    already proven, so it is verified at once, and their earlier reports and alerts join it."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.password_validation import validate_password

    report = Report.objects.select_for_update().get(pk=report_id)
    email = report.reporter_email
    if report.reporter_id is not None or not email:
        raise NotAllowed(str(_("This report already belongs to an account.")))
    if User.objects.filter(email__iexact=email).exists():
        raise NotAllowed(str(_("There is already an account for this address: log in instead.")))
    validate_password(password, User(email=email))
    user = User.objects.create_user(email, password, display_name=report.reporter_name)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    Report.objects.filter(reporter__isnull=True, reporter_email=email).update(reporter=user)
    Subscription.objects.filter(email=email, user__isnull=True).update(user=user)
    return user


@transaction.atomic
def report_assign(*, report_id: int, assignee: User | None, actor: User) -> Report:
    """Staff give a report to a colleague of the same authority (or take it back: None)."""
    report = locked_for_staff(report_id, actor, "assign")
    if assignee is not None and not is_staff_of(assignee, report.authority_id):
        raise NotAllowed(
            str(_("%(who)s does not work for %(authority)s."))
            % {"who": assignee.email, "authority": report.authority.name}
        )
    before = {"assignee": report.assignee.email if report.assignee else None}
    report.assignee, report.updated_at = assignee, timezone.now()
    report.save(update_fields=["assignee", "updated_at"])
    after = {"assignee": assignee.email if assignee else None}
    audit_record(actor=actor, action="assignment", obj=report, before=before, after=after)
    return report


@transaction.atomic
def report_set_priority(*, report_id: int, priority: str, actor: User) -> Report:
    if priority not in Priority.values:
        choices = ", ".join(Priority.values)
        raise ValidationError({"priority": _("Choose one of %(choices)s.") % {"choices": choices}})
    report = locked_for_staff(report_id, actor, "priority")
    before = {"priority": report.priority}
    report.priority, report.updated_at = priority, timezone.now()
    report.save(update_fields=["priority", "updated_at"])
    after = {"priority": priority}
    audit_record(actor=actor, action="priority", obj=report, before=before, after=after)
    return report


def locked_for_staff(report_id: int, actor: User, permission: str) -> Report:
    """The report, its row locked, if the actor's role at its authority allows ``permission``
    (a key of authorities.permissions.PERMISSIONS)."""
    report = (
        Report.objects.select_for_update(of=("self",))
        .select_related("authority", "assignee")
        .get(pk=report_id)
    )
    if not staff_may(actor, report.authority_id, permission):
        raise NotAllowed(str(_("Your role at this authority does not allow that.")))
    return report


# --- helpers ---------------------------------------------------------------------------------


def _check_reporter_may_change(report: Report, user: User) -> None:
    if report.reporter_id is None or report.reporter_id != user.pk:
        raise NotAllowed(str(_("Only the person who reported this can change it.")))
    if report.state not in (ReportState.UNCONFIRMED, ReportState.OPEN):
        raise NotAllowed(
            str(_("This report can no longer be changed: the council is already working on it."))
        )


def _claim_photos(
    tokens: Sequence[str], *, report: Report, update: ReportUpdate | None = None
) -> None:
    if not tokens:
        return
    limit = settings.FIXPOINT_PHOTOS_PER_REPORT
    pending = ReportPhoto.objects.filter(upload_token__in=list(tokens), report__isnull=True)
    if pending.count() > limit:
        most = ngettext("At most %(limit)d photo.", "At most %(limit)d photos.", limit)
        raise ValidationError({"photos": most % {"limit": limit}})
    pending.update(report=report, update=update, upload_token="")


def _clean_text(title: str, description: str) -> tuple[str, str]:
    title, description = title.strip(), description.strip()
    errors = {}
    if not title:
        errors["title"] = "Give the report a short title."
    elif len(title) > 150:
        errors["title"] = "Keep the title under 150 characters."
    if not description:
        errors["description"] = "Describe the problem."
    elif len(description) > 5000:
        errors["description"] = "Keep the description under 5,000 characters."
    if errors:
        raise ValidationError(errors)
    return title, description


def _clean_contact(name: str, email: str) -> tuple[str, str]:
    name, email = name.strip(), email.strip().lower()
    errors = {}
    if not name:
        errors["reporter_name"] = "Give your name (you can keep it private)."
    try:
        validate_email(email)
    except ValidationError:
        errors["reporter_email"] = "Give an e-mail address we can send the confirmation link to."
    if errors:
        raise ValidationError(errors)
    return name, email


def _route(latitude: float, longitude: float, category: Category) -> routing.AuthorityRef:
    try:
        latitude, longitude = float(latitude), float(longitude)
    except (TypeError, ValueError):
        raise InvalidLocation(_("Latitude and longitude must be numbers.")) from None
    return routing.responsible_authority(latitude, longitude, category.id)


def _new_ref() -> str:
    return "".join(secrets.choice(REF_ALPHABET) for _ in range(7))


def _locked(report_id: int | None) -> Report:
    if report_id is None:
        raise TypeError("report_transition changes a report: give report_id (or filed).")
    return (
        Report.objects.select_for_update(of=("self",))
        .select_related("authority", "category", "assignee")
        .get(pk=report_id)
    )


def _acting(
    report: Report, actor: User | None, permission: str, via: User | None, by_reporter_link: bool
) -> tuple[str, User | None]:
    """The actor's kind, and the actor to record, once their permission is checked."""
    if by_reporter_link:
        return Actor.REPORTER, report.reporter
    if via is not None:
        if not staff_may(via, report.authority_id, "transition"):  # viewers only read
            raise NotAllowed(_("This API key does not act for staff of the report's authority."))
        return Actor.SYSTEM, None
    if actor is None:
        return Actor.SYSTEM, None
    if permission:  # a staff action: only staff whose role allows it
        if not staff_may(actor, report.authority_id, permission):
            raise NotAllowed(str(_("Your role at this authority does not allow that.")))
        return Actor.STAFF, actor
    # Viewers read; the staff who may act are inspectors, administrators and superusers.
    if staff_may(actor, report.authority_id, "transition"):
        return Actor.STAFF, actor
    if report.reporter_id is not None and report.reporter_id == actor.pk:
        return Actor.REPORTER, actor
    raise NotAllowed(_("Only staff of the responsible authority or the reporter can do that."))


def _check_move(
    report: Report,
    to_state: str | None,
    kind: str,
    via: User | None,
    undoing: ReportStateChange | None,
    public_note: str,
    internal_note: str,
) -> None:
    if to_state is None:  # the state stays: a response or a re-route, by staff or the system
        if kind == Actor.REPORTER:
            raise NotAllowed(_("Only staff of the responsible authority can do that."))
        return
    if via is not None and report.state == to_state:
        raise InvalidTransition(
            _(
                "The report is already “%(state)s”; send a different status (an authority's "
                "comments without a status change are not taken over Open311)."
            )
            % {"state": ReportState(to_state).label}
        )
    if undoing is None:
        _check_allowed(report, to_state, kind)
    else:
        _check_undo(report, to_state, kind, undoing)
    if kind == Actor.REPORTER and to_state == ReportState.OPEN and not public_note:
        raise InvalidTransition(_("Say why the problem is not fixed to reopen the report."))
    if kind == Actor.REPORTER and internal_note:
        raise NotAllowed(_("Only staff can write internal notes."))


def _check_allowed(report: Report, to_state: str, kind: str) -> None:
    if to_state not in ReportState.values:
        raise InvalidTransition(_("%(state)s is not a report state.") % {"state": repr(to_state)})
    allowed = TRANSITIONS.get(report.state, {})
    # People read the states' names; the codes are in `extra` for programs.
    move = {"from": ReportState(report.state).label, "to": ReportState(to_state).label}
    if to_state not in allowed:
        raise InvalidTransition(
            _("A report cannot go from “%(from)s” to “%(to)s”.") % move,
            extra={"from": report.state, "to": to_state, "allowed": sorted(allowed)},
        )
    if kind not in allowed[to_state]:
        if kind == Actor.REPORTER:
            refused = _("The reporter cannot move a report from “%(from)s” to “%(to)s”.")
        else:
            refused = _("Staff cannot move a report from “%(from)s” to “%(to)s”.")
        raise NotAllowed(refused % move)


def _check_undo(report: Report, to_state: str, kind: str, change: ReportStateChange) -> None:
    """Outside the transition table only one move: the reporter back to where their own
    withdrawal, the report's latest change, took the report from."""
    latest = withdrawal_latest(report.pk)
    if (
        kind != Actor.REPORTER
        or latest is None
        or latest.pk != change.pk
        or report.state != change.to_state
        or to_state != change.from_state
    ):
        raise NotAllowed(str(_("This withdrawal can no longer be undone.")))


def _apply(
    report: Report, to_state: str, now: datetime, duplicate_of_id: int | None, actor: User | None
) -> None:
    if to_state == ReportState.DUPLICATE:
        report.duplicate_of = _original_for(report, duplicate_of_id, actor)
    elif to_state in OPEN_STATES:
        report.duplicate_of = None
    if to_state in OPEN_STATES and report.state not in OPEN_STATES:
        # Reopened (or confirmed): earlier fix/close times belong to history, not to the report.
        report.fixed_at = report.closed_at = None
    report.state = to_state
    report.updated_at = now
    if to_state == ReportState.OPEN and report.confirmed_at is None:
        report.confirmed_at = now
    if to_state == ReportState.VERIFIED and report.verified_at is None:
        report.verified_at = now
    if to_state == ReportState.FIXED:
        report.fixed_at = now
    if to_state in FINISHED_STATES:
        report.closed_at = now


def _original_for(report: Report, duplicate_of_id: int | None, actor: User | None) -> Report:
    if duplicate_of_id is None:
        raise InvalidTransition(_("Say which report this one duplicates."))
    if duplicate_of_id == report.pk:
        raise InvalidTransition(_("A report cannot be a duplicate of itself."))
    original = duplicate_originals(actor).filter(pk=duplicate_of_id).first()
    if original is None:  # hidden, out of the actor's sight, or not there: one answer
        raise NoSuchOriginal()
    if original.state == ReportState.DUPLICATE:
        raise InvalidTransition(
            _("Report %(ref)s is itself a duplicate; point at the original report.")
            % {"ref": original.ref}
        )
    return original


def _move_on_reporter_opinion(
    report: Report, author: User | None, opinion: str, text: str, at: datetime | None
) -> None:
    if author is None or report.reporter_id != author.pk:
        return
    if opinion == Opinion.FIXED and report.state in OPEN_STATES:
        target = ReportState.FIXED
    elif opinion == Opinion.STILL_A_PROBLEM and report.state == ReportState.FIXED:
        target = ReportState.OPEN
    else:
        return
    report_transition(report_id=report.pk, to_state=target, actor=author, public_note=text, at=at)
