"""“Has this been fixed?”: questionnaires to reporters of reports that stay open.

`questionnaires_send_due` (Celery beat hourly, `manage.py send_questionnaires`) writes a
Questionnaire row and its e-mail (through the outbox, reports.notifications) for each report
open for `FIXPOINT_QUESTIONNAIRE_WEEKS` since it was confirmed, and again every
`FIXPOINT_QUESTIONNAIRE_REPEAT_WEEKS` while it stays open, at most `FIXPOINT_QUESTIONNAIRE_MAX`
times, unless its category has questionnaires off. The e-mail's signed links open a page where
the reporter answers (`questionnaire_answer`): "yes" marks the report fixed as its reporter,
"no" keeps it open with a "still a problem" update, or reopens it when it was marked fixed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.errors import ApplicationError

from . import notifications
from .models import (
    OPEN_STATES,
    Opinion,
    Questionnaire,
    QuestionnaireAnswer,
    Report,
    ReportState,
    Subscription,
    SubscriptionKind,
)
from .services import report_transition, report_update_add

SALT = "fixpoint.questionnaire"
KIND = "questionnaire"


class AlreadyAnswered(ApplicationError):
    code = "already_answered"
    status = 409


def questionnaire_token(questionnaire: Questionnaire) -> str:
    return signing.dumps({"q": questionnaire.pk}, salt=SALT)


def questionnaire_id_from_token(token: str) -> int:
    """Raises signing.BadSignature for a link that was not ours or was altered. Links do not
    expire: a questionnaire is answered once, and a late answer is still an answer."""
    return int(signing.loads(token, salt=SALT)["q"])


def questionnaire_link(questionnaire: Questionnaire, answer: str = "") -> str:
    path = reverse("reports:questionnaire", args=[questionnaire_token(questionnaire)])
    return notifications.absolute(f"{path}?answer={answer}" if answer else path)


# --- Sending -------------------------------------------------------------------------------------


def questionnaires_due(*, now: datetime) -> QuerySet[Report]:
    """Open reports whose reporter can be asked now: first after the configured weeks, then
    again after the repeat period, up to the maximum; never when the category has them off."""
    first = now - timedelta(weeks=settings.FIXPOINT_QUESTIONNAIRE_WEEKS)
    again = now - timedelta(weeks=settings.FIXPOINT_QUESTIONNAIRE_REPEAT_WEEKS)
    return (
        Report.objects.filter(
            state__in=OPEN_STATES, category__questionnaires=True, confirmed_at__lte=first
        )
        .exclude(reporter__isnull=True, reporter_email="")  # anonymised: nobody to ask
        .exclude(reporter__is_active=False)  # a deleted or banned account
        .annotate(asked=Count("questionnaires"), last_asked=Max("questionnaires__sent_at"))
        .filter(
            Q(asked=0) | Q(asked__lt=settings.FIXPOINT_QUESTIONNAIRE_MAX, last_asked__lte=again)
        )
    )


def questionnaires_send_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Ask every report that is due. Returns how many questionnaires were written."""
    now = now or timezone.now()
    if settings.FIXPOINT_QUESTIONNAIRE_MAX <= 0:
        return 0
    ids = list(questionnaires_due(now=now).order_by("pk").values_list("pk", flat=True)[:limit])
    return sum(questionnaire_send(report_id=pk, now=now) is not None for pk in ids)


@transaction.atomic
def questionnaire_send(*, report_id: int, now: datetime | None = None) -> Questionnaire | None:
    """Write one report's questionnaire and its e-mail, if it is (still) due. The report row is
    locked and the rule asked again under the lock, so two runs at once ask only once."""
    now = now or timezone.now()
    report = (
        Report.objects.select_for_update(of=("self",)).select_related("reporter").get(pk=report_id)
    )
    if not questionnaires_due(now=now).filter(pk=report.pk).exists():
        return None
    email = notifications.reporter_email(report)
    if not email:
        return None
    questionnaire = Questionnaire.objects.create(
        report=report, sent_at=now, state_when_sent=report.state
    )
    # From beat, no request says which language: the reporter's own.
    with translation.override(_language_of(report, email)):
        body = render_to_string(
            "emails/questionnaire.txt",
            {
                "report": report,
                "yes": questionnaire_link(questionnaire, "yes"),
                "no": questionnaire_link(questionnaire, "no"),
                "report_url": notifications.absolute(report.get_absolute_url()),
            },
        )
        subject = _("Has this been fixed? %(title)s") % {"title": report.title}
        notifications.email_enqueue(to=email, kind=KIND, subject=subject, body=body, report=report)
    return questionnaire


def _language_of(report: Report, email: str) -> str:
    """The reporter's account's language, else the one they filed in (kept on their
    subscription to the report), else the site's."""
    if report.reporter is not None and report.reporter.language:
        return report.reporter.language
    filed_in = (
        Subscription.objects.filter(report=report, email=email, kind=SubscriptionKind.REPORT)
        .values_list("language", flat=True)
        .first()
    )
    return filed_in or settings.LANGUAGE_CODE


# --- Answering -----------------------------------------------------------------------------------


@transaction.atomic
def questionnaire_answer(
    *, questionnaire_id: int, fixed: bool, comment: str = "", at: datetime | None = None
) -> Questionnaire:
    """Record the reporter's answer once, and move the report as the reporter would."""
    questionnaire = Questionnaire.objects.select_for_update().get(pk=questionnaire_id)
    if questionnaire.is_answered:
        raise AlreadyAnswered(_("This questionnaire has already been answered. Thank you."))
    comment = comment.strip()
    if len(comment) > 5000:
        raise ValidationError({"comment": _("Write at most 5,000 characters.")})
    report = Report.objects.select_for_update().get(pk=questionnaire.report_id)
    questionnaire.answer = QuestionnaireAnswer.FIXED if fixed else QuestionnaireAnswer.NOT_FIXED
    questionnaire.comment = comment
    questionnaire.state_when_answered = report.state
    questionnaire.answered_at = at or timezone.now()
    questionnaire.save()
    if report.is_shown:  # spam stays untouched; a hidden report takes no updates (private do)
        _act_on(report, fixed=fixed, comment=comment, at=questionnaire.answered_at)
    return questionnaire


def _act_on(report: Report, *, fixed: bool, comment: str, at: datetime) -> None:
    if fixed and report.is_open:
        note = comment or _("The reporter says this has been fixed.")
        report_transition(
            report_id=report.pk,
            to_state=ReportState.FIXED,
            public_note=note,
            at=at,
            by_reporter_link=True,
        )
    elif not fixed and report.state == ReportState.FIXED:
        note = comment or _("The reporter says this is still a problem.")
        report_transition(
            report_id=report.pk,
            to_state=ReportState.OPEN,
            public_note=note,
            at=at,
            by_reporter_link=True,
        )
    elif not fixed and report.is_open:
        report_update_add(
            report_id=report.pk,
            author=report.reporter,
            author_name=report.reporter_name,
            text=comment or _("The reporter says this is still a problem."),
            opinion=Opinion.STILL_A_PROBLEM,
            show_name=report.show_name,
            at=at,
        )
    elif comment:  # closed, or already fixed and confirmed: the comment is still worth keeping
        report_update_add(
            report_id=report.pk,
            author=report.reporter,
            author_name=report.reporter_name,
            text=comment,
            opinion=Opinion.FIXED if fixed else Opinion.STILL_A_PROBLEM,
            show_name=report.show_name,
            at=at,
        )
