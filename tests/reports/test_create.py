"""Filing a report: routed, validated, and confirmed by e-mail when anonymous."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from authorities.exceptions import CategoryNotOfferedHere, InvalidLocation, NoAuthorityHere
from authorities.models import CategoryQuestion
from reports import services
from reports.exceptions import NotAllowed
from reports.models import Actor, Opinion, Report, ReportState
from tests import factories


def test_a_signed_in_citizens_report_is_open_and_routed_to_the_district(tiny_city):
    citizen = factories.UserFactory.create()

    report = factories.report(tiny_city.pothole, *tiny_city.EAST, reporter=citizen)

    assert report.state == ReportState.OPEN
    assert report.authority == tiny_city.east
    assert report.confirmed_at == report.created_at
    assert len(report.ref) == 7
    change = report.history.get()
    assert (change.from_state, change.to_state, change.actor) == ("", "open", citizen)


def test_a_city_category_goes_to_the_city_from_any_district(tiny_city):
    report = factories.report(tiny_city.bins, *tiny_city.WEST)

    assert report.authority == tiny_city.city


def test_an_anonymous_report_waits_unconfirmed_until_confirmed(tiny_city):
    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ANA@Example.org"
    )
    assert report.state == ReportState.UNCONFIRMED
    assert report.reporter_email == "ana@example.org"
    assert not Report.objects.public().filter(pk=report.pk).exists()

    services.report_confirm(report_id=report.pk)

    report.refresh_from_db()
    assert report.state == ReportState.OPEN and report.confirmed_at is not None
    assert report.history.last().actor_kind == Actor.SYSTEM
    assert Report.objects.public().filter(pk=report.pk).exists()


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"title": " "}, "title"),
        ({"title": "x" * 151}, "title"),
        ({"description": ""}, "description"),
        ({"reporter_name": "", "reporter_email": "ana@example.org"}, "reporter_name"),
        ({"reporter_name": "Ana", "reporter_email": "not-an-address"}, "reporter_email"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_nothing_is_stored(tiny_city, fields, bad):
    kwargs = {"title": "Hole", "description": "Deep", **fields}
    if "reporter_email" in fields:
        kwargs["reporter"] = None

    with pytest.raises(ValidationError) as excinfo:
        services.report_create(category=tiny_city.pothole, latitude=10.05, longitude=1.05, **kwargs)

    assert bad in excinfo.value.message_dict
    assert not Report.objects.exists()


def test_outside_every_boundary_the_report_is_refused(tiny_city):
    with pytest.raises(NoAuthorityHere):
        factories.report(tiny_city.pothole, 50.0, 1.0)
    with pytest.raises(InvalidLocation):
        factories.report(tiny_city.pothole, "north", 1.0)  # type: ignore[arg-type,unused-ignore]
    assert not Report.objects.exists()


def test_a_category_not_offered_at_the_spot_is_refused(tiny_city):
    graffiti = factories.CategoryFactory.create(name="Graffiti", slug="graffiti")

    with pytest.raises(CategoryNotOfferedHere):
        factories.report(graffiti, *tiny_city.WEST)


@pytest.fixture
def questions(tiny_city):
    bins = tiny_city.bins
    CategoryQuestion.objects.create(
        category=bins,
        code="container",
        label="Which container?",
        required=True,
        datatype="singlevaluelist",
        values=[{"key": "glass", "name": "Glass"}, {"key": "paper", "name": "Paper"}],
    )
    CategoryQuestion.objects.create(
        category=bins, code="count", label="How many?", datatype="number"
    )
    CategoryQuestion.objects.create(
        category=bins,
        code="kinds",
        label="What is in it?",
        datatype="multivaluelist",
        values=[{"key": "a", "name": "A"}, {"key": "b", "name": "B"}],
    )
    return bins


def test_answers_to_extra_questions_are_checked_and_normalised(tiny_city, questions):
    report = factories.report(
        questions, *tiny_city.WEST, extra={"container": "glass", "count": "3", "kinds": ["a", "b"]}
    )

    assert report.extra == {"container": "glass", "count": 3, "kinds": ["a", "b"]}


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({}, "an answer is required"),
        ({"container": "plastic"}, "plastic is not one of glass, paper"),
        ({"container": "glass", "count": "many"}, "expected a number"),
        ({"container": "glass", "colour": "red"}, "'colour' is not a question"),
        ({"container": ["glass", "paper"]}, "choose exactly one"),
    ],
)
def test_bad_answers_are_refused_with_the_question_named(tiny_city, questions, extra, fragment):
    with pytest.raises(ValidationError) as excinfo:
        factories.report(questions, *tiny_city.WEST, extra=extra)

    assert fragment in " ".join(excinfo.value.message_dict["extra"])


@pytest.mark.parametrize(
    ("language", "extra", "message"),
    [
        ("ca", {}, "Which container?: falta la resposta."),
        ("es", {"container": "glass", "count": "many"}, "How many?: se esperaba un número."),
    ],
)
def test_bad_answers_are_refused_in_the_language_of_the_person_filing(
    tiny_city, questions, language, extra, message
):
    with translation.override(language), pytest.raises(ValidationError) as excinfo:
        factories.report(questions, *tiny_city.WEST, extra=extra)

    assert excinfo.value.message_dict["extra"] == [message]


def test_the_reporter_saying_fixed_moves_the_report_and_still_a_problem_reopens_it(tiny_city):
    reporter = factories.UserFactory.create()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)

    services.report_update_add(
        report_id=report.pk, author=reporter, text="Patched today", opinion=Opinion.FIXED
    )
    assert Report.objects.get(pk=report.pk).state == ReportState.FIXED
    services.report_update_add(
        report_id=report.pk, author=reporter, text="Hole is back", opinion=Opinion.STILL_A_PROBLEM
    )

    report.refresh_from_db()
    assert report.state == ReportState.OPEN
    assert report.history.last().public_note == "Hole is back"
    assert report.updates.count() == 2


def test_another_citizens_opinion_is_recorded_without_moving_the_report(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    update = services.report_update_add(
        report_id=report.pk,
        author=factories.UserFactory.create(),
        text="Looks fixed to me",
        opinion=Opinion.FIXED,
    )

    assert update.opinion == Opinion.FIXED
    assert Report.objects.get(pk=report.pk).state == ReportState.OPEN


def test_updates_are_refused_on_hidden_reports_and_when_empty(tiny_city):
    hidden = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ana@example.org"
    )
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    with pytest.raises(NotAllowed):
        services.report_update_add(report_id=hidden.pk, author=None, text="Hello")
    with pytest.raises(ValidationError):
        services.report_update_add(report_id=report.pk, author=None, text="   ")
    with pytest.raises(ValidationError):
        services.report_update_add(report_id=report.pk, author=None, text="x", opinion="maybe")


def test_a_ref_already_taken_is_replaced_and_the_report_filed_once(tiny_city, monkeypatch):
    first = factories.report(tiny_city.pothole, *tiny_city.WEST)
    refs = iter([first.ref, "NEWREF2"])
    monkeypatch.setattr(services, "_new_ref", lambda: next(refs))

    second = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Another hole")

    assert second.ref == "NEWREF2"
    assert Report.objects.count() == 2
    assert second.history.count() == 1 and second.subscriptions.count() == 1
    assert Report.objects.get(ref=first.ref).title == first.title


def test_a_database_error_other_than_a_taken_ref_is_not_retried(tiny_city, monkeypatch):
    from django.db import IntegrityError

    calls = []

    def broken_claim(*args, **kwargs):
        calls.append(1)
        raise IntegrityError("something else")

    monkeypatch.setattr(services, "_claim_photos", broken_claim)

    with pytest.raises(IntegrityError):
        factories.report(tiny_city.pothole, *tiny_city.WEST)

    assert len(calls) == 1 and not Report.objects.exists()
