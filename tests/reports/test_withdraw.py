"""Withdrawing a report (issue 16): a confirmation page first (no JavaScript needed), then, for a
while (WITHDRAW_UNDO_MINUTES), the reporter can undo it: the report goes back to where it was
through the lifecycle's own state change, and the history says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reports import services
from reports.exceptions import NotAllowed
from reports.models import Actor, Report, ReportState
from reports.signals import report_state_changed
from tests import factories


@pytest.fixture
def mine(tiny_city, client):
    me = factories.UserFactory.create()
    client.force_login(me)
    return factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=me, title="My hole")


def test_withdrawing_asks_for_confirmation_first(mine, client):
    html = client.get(f"/my/reports/{mine.ref}/withdraw/").content.decode()

    assert "Withdraw your report?" in html and "My hole" in html
    assert "You can undo this from “My reports” for 10 minutes." in html
    assert f'<form method="post" action="/my/reports/{mine.ref}/withdraw/">' in html
    assert Report.objects.get(pk=mine.pk).state == ReportState.OPEN
    listing = client.get("/my/reports/").content.decode()
    assert f'<a href="/my/reports/{mine.ref}/withdraw/">Withdraw' in listing  # a link, not a POST


def test_an_unconfirmed_report_is_said_to_be_deleted_for_good(tiny_city, client):
    me = factories.UserFactory.create()
    client.force_login(me)
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=me)
    Report.objects.filter(pk=report.pk).update(state=ReportState.UNCONFIRMED)

    html = client.get(f"/my/reports/{report.ref}/withdraw/").content.decode()

    assert "it will be deleted, and this cannot be undone" in html


def test_the_reporter_undoes_a_withdrawal_through_the_state_change_and_its_history(mine, client):
    changes = []

    def heard(sender, report, change, **kwargs):
        changes.append((change.from_state, change.to_state))

    report_state_changed.connect(heard)
    try:
        response = client.post(f"/my/reports/{mine.ref}/withdraw/", follow=True)
        html = response.content.decode()
        assert "You can undo this below for 10 minutes." in html
        assert f'action="/my/reports/{mine.ref}/withdraw/undo/"' in html

        html = client.post(f"/my/reports/{mine.ref}/withdraw/undo/", follow=True).content.decode()
    finally:
        report_state_changed.disconnect(heard)

    assert "Your report is back: it is open again." in html
    mine.refresh_from_db()
    assert mine.state == ReportState.OPEN and mine.closed_at is None
    undo = mine.history.order_by("-created_at", "-id").first()
    assert (undo.from_state, undo.to_state, undo.actor_kind) == (
        ReportState.CLOSED,
        ReportState.OPEN,
        Actor.REPORTER,
    )
    assert undo.public_note == "The reporter undid the withdrawal."
    assert changes == [
        (ReportState.OPEN, ReportState.CLOSED),
        (ReportState.CLOSED, ReportState.OPEN),
    ]
    assert "withdraw/undo/" not in client.get("/my/reports/").content.decode()


def test_the_undo_ends_after_withdraw_undo_minutes(mine, settings):
    settings.FIXPOINT_WITHDRAW_UNDO_MINUTES = 10
    services.report_withdraw(report_id=mine.pk, user=mine.reporter)

    later = timezone.now() + timedelta(minutes=11)
    with pytest.raises(NotAllowed, match="can no longer be undone"):
        services.report_withdraw_undo(report_id=mine.pk, user=mine.reporter, at=later)

    assert Report.objects.get(pk=mine.pk).state == ReportState.CLOSED


def test_no_undo_with_withdraw_undo_minutes_0(mine, client, settings):
    settings.FIXPOINT_WITHDRAW_UNDO_MINUTES = 0

    html = client.post(f"/my/reports/{mine.ref}/withdraw/", follow=True).content.decode()

    assert "Your report is withdrawn." in html and "withdraw/undo/" not in html
    with pytest.raises(NotAllowed):
        services.report_withdraw_undo(report_id=mine.pk, user=mine.reporter)


def test_only_the_reporter_undoes_and_only_their_own_latest_withdrawal(tiny_city, mine, client):
    services.report_withdraw(report_id=mine.pk, user=mine.reporter)
    with pytest.raises(NotAllowed):
        services.report_withdraw_undo(report_id=mine.pk, user=factories.UserFactory.create())
    client.force_login(factories.UserFactory.create())
    assert client.post(f"/my/reports/{mine.ref}/withdraw/undo/").status_code == 404

    # staff reopen and close it again: the withdrawal is no longer the latest change
    services.report_transition(
        report_id=mine.pk, to_state=ReportState.OPEN, actor=tiny_city.west_staff
    )
    services.report_transition(
        report_id=mine.pk, to_state=ReportState.CLOSED, actor=tiny_city.west_staff
    )
    with pytest.raises(NotAllowed):
        services.report_withdraw_undo(report_id=mine.pk, user=mine.reporter)


def test_a_reporter_still_cannot_reopen_a_closed_report_outside_an_undo(tiny_city, mine):
    services.report_transition(
        report_id=mine.pk, to_state=ReportState.CLOSED, actor=tiny_city.west_staff
    )
    with pytest.raises(NotAllowed):
        services.report_withdraw_undo(report_id=mine.pk, user=mine.reporter)
