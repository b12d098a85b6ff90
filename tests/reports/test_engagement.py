"""Citizens following and supporting reports: "me too", editing, withdrawing, hiding names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from reports import services
from reports.exceptions import NotAllowed
from reports.models import Report, ReportState, ReportUpdate, Support
from tests import factories


def test_me_too_counts_each_person_once(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    neighbour = factories.UserFactory.create()

    assert services.support_add(report_id=report.pk, user=neighbour) is True
    assert services.support_add(report_id=report.pk, user=neighbour) is False
    assert services.support_add(report_id=report.pk, email="Ana@Example.org") is True
    assert services.support_add(report_id=report.pk, email="ana@example.org") is False

    assert Support.objects.filter(report=report).count() == 2


def test_me_too_is_refused_for_own_closed_or_bad_input(tiny_city):
    reporter = factories.UserFactory.create()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)

    with pytest.raises(NotAllowed):
        services.support_add(report_id=report.pk, user=reporter)
    with pytest.raises(ValidationError):
        services.support_add(report_id=report.pk, email="not-an-address")
    services.report_transition(
        report_id=report.pk, to_state=ReportState.FIXED, actor=tiny_city.west_staff
    )
    with pytest.raises(NotAllowed):
        services.support_add(report_id=report.pk, email="late@example.org")


def test_reporter_edits_an_open_report_but_not_once_staff_acted(tiny_city):
    reporter = factories.UserFactory.create()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)

    services.report_edit(
        report_id=report.pk,
        user=reporter,
        title="Deeper hole",
        description="Now 20 cm",
        show_name=True,
    )
    assert Report.objects.get(pk=report.pk).title == "Deeper hole"

    services.report_transition(
        report_id=report.pk, to_state=ReportState.VERIFIED, actor=tiny_city.west_staff
    )
    with pytest.raises(NotAllowed, match="no longer be changed"):
        services.report_edit(
            report_id=report.pk, user=reporter, title="x", description="y", show_name=False
        )
    with pytest.raises(NotAllowed):
        services.report_edit(
            report_id=report.pk,
            user=factories.UserFactory.create(),
            title="x",
            description="y",
            show_name=False,
        )


def test_withdrawing_closes_an_open_report_with_a_public_note(tiny_city):
    reporter = factories.UserFactory.create()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)

    services.report_withdraw(report_id=report.pk, user=reporter)

    report.refresh_from_db()
    assert report.state == ReportState.CLOSED
    assert report.history.last().public_note == "Withdrawn by the reporter."


def test_hiding_my_name_covers_every_report_and_update(tiny_city):
    citizen = factories.UserFactory.create()
    first = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=citizen, show_name=True)
    other = factories.report(tiny_city.pothole, *tiny_city.WEST)
    services.report_update_add(report_id=other.pk, author=citizen, text="Same here", show_name=True)

    assert services.user_hide_name(user=citizen) == 2

    assert not Report.objects.get(pk=first.pk).show_name
    assert not ReportUpdate.objects.filter(author=citizen, show_name=True).exists()
    assert Report.objects.get(pk=first.pk).public_reporter_name == "Anonymous"


def test_unconfirmed_reports_expire_after_the_configured_time(tiny_city, settings):
    settings.FIXPOINT_UNCONFIRMED_TTL_HOURS = 24
    old = factories.report(
        tiny_city.pothole,
        *tiny_city.WEST,
        reporter_name="Ana",
        reporter_email="ana@example.org",
        at=timezone.now() - timedelta(hours=25),
    )
    fresh = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Bo", reporter_email="bo@example.org"
    )
    confirmed_old = factories.report(
        tiny_city.pothole, *tiny_city.WEST, at=timezone.now() - timedelta(days=30)
    )

    assert services.report_expire_unconfirmed() == 1

    assert set(Report.objects.values_list("pk", flat=True)) == {fresh.pk, confirmed_old.pk}
    assert not Report.objects.filter(pk=old.pk).exists()


def test_a_report_records_its_neighbourhood(barcelona):
    from authorities import services as authority_services
    from authorities.services import BoundaryFeature
    from tests.conftest import barcelona_geojson

    features = [
        BoundaryFeature(n, f["properties"]["NOM"], f["properties"]["CODI_UA"], f["geometry"])
        for n, f in enumerate(barcelona_geojson("barris")["features"], 1)
    ]
    authority_services.areas_import(features=features, authority=barcelona.city)

    report = factories.report(barcelona.pavement, 41.4036, 2.1744)  # Sagrada Família

    assert report.area is not None and report.area.name == "la Sagrada Família"


def test_the_expiry_command_reports_what_it_deleted(tiny_city, settings):
    from io import StringIO

    from django.core.management import call_command

    factories.report(
        tiny_city.pothole,
        *tiny_city.WEST,
        reporter_name="Ana",
        reporter_email="ana@example.org",
        at=timezone.now() - timedelta(days=10),
    )
    out = StringIO()

    call_command("expire_unconfirmed", stdout=out)

    assert "1 unconfirmed reports and 0 unused photos deleted." in out.getvalue()
    assert not Report.objects.exists()
