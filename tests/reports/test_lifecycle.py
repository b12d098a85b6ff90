"""The report state machine: every move in the table works and is recorded; others are refused."""

from __future__ import annotations

import itertools

import pytest
from django.utils import translation

from reports import services
from reports.exceptions import InvalidTransition, NotAllowed
from reports.models import TRANSITIONS, Actor, Report, ReportState, ReportStateChange
from reports.signals import report_state_changed
from tests import factories

S = ReportState
ALL_MOVES = list(itertools.product(S.values, S.values))
LEGAL = [(a, b) for a, b in ALL_MOVES if b in TRANSITIONS.get(a, {})]
ILLEGAL = [(a, b) for a, b in ALL_MOVES if b not in TRANSITIONS.get(a, {})]


def _report_in(city, state: str) -> Report:
    report = factories.report(city.pothole, *city.WEST)
    # Test set-up only: put the report straight into the starting state of the move under test.
    Report.objects.filter(pk=report.pk).update(state=state)
    return Report.objects.get(pk=report.pk)


@pytest.mark.parametrize(("from_state", "to_state"), ILLEGAL)
def test_every_move_outside_the_table_is_refused_and_leaves_no_trace(
    tiny_city, from_state, to_state
):
    report = _report_in(tiny_city, from_state)
    history = report.history.count()

    with pytest.raises(InvalidTransition):
        services.report_transition(
            report_id=report.pk, to_state=to_state, actor=tiny_city.west_staff
        )

    report.refresh_from_db()
    assert report.state == from_state
    assert report.history.count() == history


@pytest.mark.parametrize(("from_state", "to_state"), LEGAL)
def test_every_move_in_the_table_is_recorded_with_who_when_and_notes(
    tiny_city, from_state, to_state
):
    report = _report_in(tiny_city, from_state)
    original = factories.report(tiny_city.pothole, *tiny_city.WEST)
    calls = []
    report_state_changed.connect(lambda **kw: calls.append(kw), weak=False, dispatch_uid="t")
    try:
        services.report_transition(
            report_id=report.pk,
            to_state=to_state,
            actor=tiny_city.west_staff,
            public_note="Public words",
            internal_note="Staff only",
            duplicate_of_id=original.pk,
        )
    finally:
        report_state_changed.disconnect(dispatch_uid="t")

    report.refresh_from_db()
    change = report.history.last()
    assert report.state == to_state
    assert (change.from_state, change.to_state) == (from_state, to_state)
    assert change.actor == tiny_city.west_staff and change.actor_kind == Actor.STAFF
    assert (change.public_note, change.internal_note) == ("Public words", "Staff only")
    assert calls == [
        {
            "signal": report_state_changed,
            "sender": Report,
            "report": calls[0]["report"],
            "change": change,
            "created": False,  # only report_create's first change says True
        }
    ]
    assert (report.duplicate_of == original) == (to_state == S.DUPLICATE)


def test_milestones_are_stamped_and_a_reopen_clears_fix_and_close(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    staff = tiny_city.west_staff
    for state in (S.VERIFIED, S.IN_PROGRESS, S.FIXED, S.CLOSED):
        services.report_transition(report_id=report.pk, to_state=state, actor=staff)
    report.refresh_from_db()
    assert report.confirmed_at and report.verified_at and report.fixed_at and report.closed_at
    verified_at = report.verified_at

    services.report_transition(report_id=report.pk, to_state=S.OPEN, actor=staff)

    report.refresh_from_db()
    assert report.fixed_at is None and report.closed_at is None
    assert report.verified_at == verified_at  # time to first verification stays measurable
    assert [c.to_state for c in report.history.all()] == [
        S.OPEN,
        S.VERIFIED,
        S.IN_PROGRESS,
        S.FIXED,
        S.CLOSED,
        S.OPEN,
    ]


@pytest.mark.parametrize("outcome", [S.DUPLICATE, S.NOT_RESPONSIBLE, S.SPAM])
@pytest.mark.parametrize("start", [S.OPEN, S.VERIFIED, S.IN_PROGRESS])
def test_staff_can_close_with_an_outcome_from_any_open_state_and_reopen(tiny_city, start, outcome):
    report = _report_in(tiny_city, start)
    original = factories.report(tiny_city.pothole, *tiny_city.WEST)

    services.report_transition(
        report_id=report.pk,
        to_state=outcome,
        actor=tiny_city.west_staff,
        duplicate_of_id=original.pk,
    )
    services.report_transition(report_id=report.pk, to_state=S.OPEN, actor=tiny_city.west_staff)

    report.refresh_from_db()
    assert report.state == S.OPEN and report.duplicate_of is None


def test_staff_of_another_district_cannot_move_a_report(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    with pytest.raises(NotAllowed):
        services.report_transition(
            report_id=report.pk, to_state=S.VERIFIED, actor=tiny_city.east_staff
        )

    assert Report.objects.get(pk=report.pk).state == S.OPEN


def test_a_citizen_cannot_move_someone_elses_report(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    with pytest.raises(NotAllowed):
        services.report_transition(
            report_id=report.pk, to_state=S.FIXED, actor=factories.UserFactory.create()
        )


def test_the_reporter_may_say_fixed_and_reopen_with_a_reason_but_not_verify(tiny_city):
    reporter = factories.UserFactory.create()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)

    with pytest.raises(NotAllowed):
        services.report_transition(report_id=report.pk, to_state=S.VERIFIED, actor=reporter)
    services.report_transition(report_id=report.pk, to_state=S.FIXED, actor=reporter)
    with pytest.raises(InvalidTransition, match="Say why"):
        services.report_transition(report_id=report.pk, to_state=S.OPEN, actor=reporter)
    services.report_transition(
        report_id=report.pk,
        to_state=S.OPEN,
        actor=reporter,
        public_note="The hole is back after the rain.",
    )

    change = Report.objects.get(pk=report.pk).history.last()
    assert change.actor_kind == Actor.REPORTER and change.to_state == S.OPEN


def test_a_superuser_acts_as_staff_anywhere(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.EAST)
    admin = factories.UserFactory.create(is_superuser=True, is_staff=True)

    services.report_transition(report_id=report.pk, to_state=S.VERIFIED, actor=admin)

    assert report.history.last().actor_kind == Actor.STAFF


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("none", "Say which report"),
        ("self", "of itself"),
        ("hidden", "no public report"),
        ("duplicate", "itself a duplicate"),
    ],
)
def test_a_duplicate_must_point_at_another_public_original(tiny_city, target, message):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    other = factories.report(tiny_city.pothole, *tiny_city.WEST)
    staff = tiny_city.west_staff
    if target == "hidden":
        services.report_transition(report_id=other.pk, to_state=S.SPAM, actor=staff)
    if target == "duplicate":
        third = factories.report(tiny_city.pothole, *tiny_city.WEST)
        services.report_transition(
            report_id=other.pk, to_state=S.DUPLICATE, actor=staff, duplicate_of_id=third.pk
        )
    original_id = {"none": None, "self": report.pk}.get(target, other.pk)

    with pytest.raises(InvalidTransition, match=message):
        services.report_transition(
            report_id=report.pk, to_state=S.DUPLICATE, actor=staff, duplicate_of_id=original_id
        )


def test_an_unknown_state_is_refused_clearly(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    with pytest.raises(InvalidTransition, match="'reopened' is not a report state"):
        services.report_transition(
            report_id=report.pk, to_state="reopened", actor=tiny_city.west_staff
        )


def test_a_refused_move_is_explained_in_the_language_of_who_tried_it(tiny_city):
    staff = tiny_city.west_staff
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    services.report_transition(report_id=report.pk, to_state=S.CLOSED, actor=staff)

    with translation.override("ca"), pytest.raises(InvalidTransition) as refused:
        services.report_transition(report_id=report.pk, to_state=S.IN_PROGRESS, actor=staff)

    assert refused.value.message == "Una incidència no pot passar de «Tancada» a «En curs»."
    assert refused.value.extra["from"] == "closed"  # programs read the codes


def test_history_rows_cannot_be_edited_or_deleted(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    change = report.history.get()

    change.public_note = "rewritten"
    with pytest.raises(TypeError, match="append-only"):
        change.save()
    with pytest.raises(TypeError, match="append-only"):
        change.delete()
    with pytest.raises(TypeError, match="append-only"):
        ReportStateChange.objects.filter(pk=change.pk).update(public_note="x")
    with pytest.raises(TypeError, match="append-only"):
        ReportStateChange.objects.filter(pk=change.pk).delete()
    assert ReportStateChange.objects.get(pk=change.pk).public_note == ""
