"""“Has this been fixed?” questionnaires: when they are sent, what answers do, the fix rate."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from reports import questionnaires, selectors, services
from reports.models import (
    Actor,
    Notification,
    Opinion,
    Questionnaire,
    Report,
    ReportState,
    ReportStateChange,
    ReportUpdate,
)
from tests import factories


def _later(weeks: float = 5) -> datetime:
    return timezone.now() + timedelta(weeks=weeks)


def _links(body: str) -> dict[str, str]:
    found = re.findall(r"https?://\S+/questionnaire/\S+\?answer=(yes|no)", body)
    urls = re.findall(r"https?://\S+/questionnaire/\S+", body)
    return {answer: url.split("8000")[-1] for answer, url in zip(found, urls, strict=True)}


@pytest.fixture
def open_report(tiny_city):
    return factories.report(tiny_city.pothole, *tiny_city.WEST)


@pytest.fixture
def emailed_report(tiny_city):
    """Filed without an account, confirmed by e-mail: its reporter has only an address."""
    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ana@example.org"
    )
    return services.report_confirm(report_id=report.pk)


def test_a_report_open_for_four_weeks_gets_one_questionnaire_with_two_signed_links(open_report):
    assert questionnaires.questionnaires_send_due(now=_later(3)) == 0

    assert questionnaires.questionnaires_send_due(now=_later()) == 1
    assert questionnaires.questionnaires_send_due(now=_later()) == 0  # not twice

    email = Notification.objects.get(kind="questionnaire")
    assert email.to_email == open_report.reporter.email
    assert email.report_id == open_report.pk
    assert "Has this been fixed?" in email.subject
    assert set(_links(email.body)) == {"yes", "no"}
    assert Questionnaire.objects.get().state_when_sent == ReportState.OPEN


def test_it_is_asked_again_while_the_report_stays_open_up_to_the_maximum(open_report, settings):
    settings.FIXPOINT_QUESTIONNAIRE_REPEAT_WEEKS = 2
    settings.FIXPOINT_QUESTIONNAIRE_MAX = 2
    questionnaires.questionnaires_send_due(now=_later(5))

    assert questionnaires.questionnaires_send_due(now=_later(6)) == 0
    assert questionnaires.questionnaires_send_due(now=_later(7.5)) == 1
    assert questionnaires.questionnaires_send_due(now=_later(20)) == 0
    assert Questionnaire.objects.filter(report=open_report).count() == 2


def test_nobody_is_asked_about_a_category_with_questionnaires_off(tiny_city, open_report):
    tiny_city.pothole.questionnaires = False
    tiny_city.pothole.save()

    assert questionnaires.questionnaires_send_due(now=_later()) == 0


def test_fixed_reports_and_reporters_who_cannot_be_reached_are_not_asked(tiny_city):
    fixed = factories.report(tiny_city.pothole, *tiny_city.WEST)
    services.report_transition(
        report_id=fixed.pk, to_state=ReportState.FIXED, actor=tiny_city.west_staff
    )
    gone = factories.report(tiny_city.pothole, *tiny_city.WEST)
    gone.reporter.is_active = False
    gone.reporter.save()

    assert questionnaires.questionnaires_send_due(now=_later()) == 0


def test_the_link_shows_the_chosen_answer_and_changes_nothing_until_it_is_sent(client, open_report):
    questionnaires.questionnaires_send_due(now=_later())
    yes = _links(Notification.objects.get(kind="questionnaire").body)["yes"]

    page = client.get(yes)

    assert page.status_code == 200
    assert re.search(r'value="yes"[^>]*checked', page.content.decode())
    assert Report.objects.get(pk=open_report.pk).state == ReportState.OPEN
    assert Questionnaire.objects.get().answered_at is None


def test_yes_marks_the_report_fixed_as_its_reporter_even_without_an_account(client, emailed_report):
    questionnaires.questionnaires_send_due(now=_later())
    link = _links(Notification.objects.get(kind="questionnaire").body)["yes"]

    response = client.post(link, {"answer": "yes", "comment": "Resurfaced last week."})

    assert response.status_code == 302
    report = Report.objects.get(pk=emailed_report.pk)
    assert report.state == ReportState.FIXED
    change = ReportStateChange.objects.filter(report=report).last()
    assert change.actor_kind == Actor.REPORTER
    assert change.public_note == "Resurfaced last week."
    answered = Questionnaire.objects.get()
    assert answered.answer == "fixed" and answered.state_when_answered == ReportState.OPEN
    assert "Thank you" in client.get(link).content.decode()


def test_no_keeps_an_open_report_open_with_a_still_a_problem_update(client, open_report):
    questionnaires.questionnaires_send_due(now=_later())
    link = _links(Notification.objects.get(kind="questionnaire").body)["no"]

    client.post(link, {"answer": "no", "comment": "Deeper than ever."})

    assert Report.objects.get(pk=open_report.pk).state == ReportState.OPEN
    update = ReportUpdate.objects.get(report=open_report)
    assert update.opinion == Opinion.STILL_A_PROBLEM
    assert update.text == "Deeper than ever."
    assert update.author == open_report.reporter


def test_no_reopens_a_report_staff_marked_fixed_with_the_comment_as_reason(tiny_city, open_report):
    questionnaire = questionnaires.questionnaire_send(report_id=open_report.pk, now=_later())
    services.report_transition(
        report_id=open_report.pk, to_state=ReportState.FIXED, actor=tiny_city.west_staff
    )

    questionnaires.questionnaire_answer(
        questionnaire_id=questionnaire.pk, fixed=False, comment="They filled the wrong hole."
    )

    report = Report.objects.get(pk=open_report.pk)
    assert report.state == ReportState.OPEN and report.fixed_at is None
    reopen = ReportStateChange.objects.filter(report=report).last()
    assert (reopen.from_state, reopen.to_state) == (ReportState.FIXED, ReportState.OPEN)
    assert reopen.actor_kind == Actor.REPORTER
    assert reopen.public_note == "They filled the wrong hole."


def test_a_questionnaire_is_answered_once_and_a_forged_link_finds_nothing(client, open_report):
    questionnaire = questionnaires.questionnaire_send(report_id=open_report.pk, now=_later())
    questionnaires.questionnaire_answer(questionnaire_id=questionnaire.pk, fixed=True)

    with pytest.raises(questionnaires.AlreadyAnswered):
        questionnaires.questionnaire_answer(questionnaire_id=questionnaire.pk, fixed=False)
    link = questionnaires.questionnaire_link(questionnaire).split("8000")[-1]
    client.post(link, {"answer": "no"})
    assert Report.objects.get(pk=open_report.pk).state == ReportState.FIXED
    assert client.get(link + "x/").status_code == 404
    assert client.get(link[:-3] + "AAA/").status_code == 404


def test_an_answer_without_a_choice_is_refused_and_keeps_the_comment(client, open_report):
    questionnaire = questionnaires.questionnaire_send(report_id=open_report.pk, now=_later())
    link = questionnaires.questionnaire_link(questionnaire).split("8000")[-1]

    page = client.post(link, {"comment": "Half done."})

    assert page.status_code == 200
    assert "Half done." in page.content.decode()
    assert Questionnaire.objects.get().answered_at is None


def test_the_fix_rate_counts_answers_per_authority_and_category_since_a_date(tiny_city):
    since = timezone.now() - timedelta(days=1)
    west = [factories.report(tiny_city.pothole, *tiny_city.WEST) for _ in range(3)]
    east = factories.report(tiny_city.pothole, *tiny_city.EAST)
    bins = factories.report(tiny_city.bins, *tiny_city.WEST)
    for report, fixed in [(west[0], True), (west[1], True), (west[2], False), (east, False)]:
        asked = questionnaires.questionnaire_send(report_id=report.pk, now=_later())
        questionnaires.questionnaire_answer(questionnaire_id=asked.pk, fixed=fixed)
    questionnaires.questionnaire_send(report_id=bins.pk, now=_later())  # unanswered: not counted

    west_rate = selectors.questionnaire_fix_rate(
        authority_id=tiny_city.west.pk, category_id=tiny_city.pothole.pk, since=since
    )
    everywhere = selectors.questionnaire_fix_rate(authority_id=None, category_id=None, since=since)
    nothing = selectors.questionnaire_fix_rate(
        authority_id=tiny_city.city.pk, category_id=None, since=since
    )
    later = selectors.questionnaire_fix_rate(
        authority_id=None, category_id=None, since=timezone.now() + timedelta(days=1)
    )

    assert west_rate == {"answered": 3, "fixed": 2, "not_fixed": 1, "fix_rate": 2 / 3}
    assert everywhere["answered"] == 4 and everywhere["fix_rate"] == 0.5
    assert nothing == {"answered": 0, "fixed": 0, "not_fixed": 0, "fix_rate": None}
    assert later["answered"] == 0


def test_the_command_sends_what_is_due(open_report, settings, capsys):
    settings.FIXPOINT_QUESTIONNAIRE_WEEKS = 0

    call_command("send_questionnaires")

    assert "1 questionnaires" in capsys.readouterr().out
    assert Questionnaire.objects.filter(report=open_report).count() == 1


def test_the_questionnaire_email_reaches_the_reporter_through_the_outbox(
    open_report, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        questionnaires.questionnaires_send_due(now=_later())

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [open_report.reporter.email]
    assert "?answer=yes" in mailoutbox[0].body and "?answer=no" in mailoutbox[0].body


def test_the_questionnaire_is_written_in_the_reporters_language(tiny_city):
    reporter = factories.UserFactory.create(language="ca")
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)

    questionnaires.questionnaire_send(report_id=report.pk, now=_later())

    email = Notification.objects.get(kind="questionnaire")
    assert email.subject.startswith("S'ha resolt?")
    assert "Has this been fixed?" not in email.body


def test_a_reporter_without_an_account_is_asked_in_the_language_they_filed_in(tiny_city):
    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ana@example.org"
    )
    with translation.override("es"):
        services.report_confirm(report_id=report.pk)  # subscribes her, in the page's language

    questionnaires.questionnaire_send(report_id=report.pk, now=_later())

    email = Notification.objects.get(kind="questionnaire")
    assert email.language == "es"
    assert email.subject.startswith("¿Se ha resuelto?")
