"""Why an entry has its amount (a cap, a reversal) is read in the reader's language, not in the
language of whoever caused it: the ledger keeps a code (gamification.models.Reason)."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from gamification import selectors
from gamification.models import GameSettings, PointEntry, Reason, Rule
from reports.models import ReportState
from tests import factories

from .helpers import move, verify


def _duplicate_reversed_by_catalan_staff(city):
    citizen = factories.UserFactory.create()
    original = factories.report(city.pothole, *city.WEST)
    copy = factories.report(city.pothole, *city.WEST, reporter=citizen)
    verify(city, copy)
    with translation.override("ca"):  # the staff member works in Catalan
        move(copy, ReportState.DUPLICATE, city.west_staff, duplicate_of_id=original.pk)
    return citizen, original


def test_a_reversal_keeps_its_reason_as_a_code_and_the_duplicated_reference(city):
    citizen, original = _duplicate_reversed_by_catalan_staff(city)

    reversals = PointEntry.objects.filter(user=citizen, rule=Rule.REVERSAL)

    assert {(r.reason, r.original_ref) for r in reversals} == {(Reason.DUPLICATE, original.ref)}


def test_the_profile_names_the_reason_in_the_readers_language(city, client):
    citizen, original = _duplicate_reversed_by_catalan_staff(city)
    client.force_login(citizen)

    html = client.get(reverse("gamification:profile"), HTTP_ACCEPT_LANGUAGE="es").content
    page = html.decode()

    assert f"(la incidencia duplicaba {original.ref})" in page
    assert "duplicava" not in page


def test_the_points_notice_names_the_reason_in_the_readers_language(city):
    citizen, original = _duplicate_reversed_by_catalan_staff(city)
    reversal = PointEntry.objects.filter(user=citizen, rule=Rule.REVERSAL).first()

    with translation.override("es"):
        notice = selectors.entry_notice(reversal)

    assert notice.endswith(f"anulado: la incidencia duplicaba {original.ref}")


def test_the_api_names_a_cap_in_the_language_asked_for(city):
    game = GameSettings.load()
    game.cap_verified = 0
    game.save()
    citizen = factories.UserFactory.create()
    verify(city, factories.report(city.pothole, *city.WEST, reporter=citizen))
    api = APIClient()
    api.force_authenticate(citizen)

    body = api.get("/api/v1/me/points/", HTTP_ACCEPT_LANGUAGE="ca").json()

    capped = next(e for e in body["entries"] if e["rule"] == Rule.REPORT_VERIFIED)
    assert (capped["amount"], capped["reason"]) == (0, "s'ha arribat al límit diari")


def test_the_migration_turns_the_texts_written_before_into_codes(transactional_db):
    citizen = factories.UserFactory.create()
    before = [("gamification", "0004_verbose_names")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("gamification", "PointEntry")
    written = {
        "s'ha arribat al límit diari": "k1",
        "the report was marked as spam": "k2",
        "la incidencia duplicaba 7KQ2MXR": "k3",
        "": "k4",
    }
    for text, key in written.items():
        old.objects.create(user_id=citizen.pk, amount=0, rule="reversal", key=key, reason=text)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = PointEntry.objects.order_by("key").values_list("reason", "original_ref")
    assert list(moved) == [
        ("daily_limit", ""),
        ("spam", ""),
        ("duplicate", "7KQ2MXR"),
        ("", ""),
    ]
