"""The queue's CSV export: scope, filters, milestone dates, escaping, streaming, audit."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from reports import services
from reports.delivery import delivery_mark_sent
from reports.models import AuditEntry, Delivery, Report
from reports.staff import exports
from tests import factories

URL = "/staff/export.csv"


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def west_and_east(tiny_city: Any) -> dict[str, Report]:
    filed = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Madrid"))
    reporter = factories.UserFactory.create(email="west.reporter@example.org")
    west = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter=reporter, title="Hole", at=filed
    )
    services.report_transition(
        report_id=west.pk, to_state="verified", actor=tiny_city.west_staff,
        at=filed + timedelta(hours=2),
    )  # fmt: skip
    services.report_transition(
        report_id=west.pk, to_state="fixed", actor=tiny_city.west_staff,
        at=filed + timedelta(days=3),
    )  # fmt: skip
    delivery_mark_sent(delivery_id=Delivery.objects.get(report=west).pk)
    east_reporter = factories.UserFactory.create(email="east.secret@example.org")
    east = factories.report(
        tiny_city.pothole, *tiny_city.EAST, reporter=east_reporter, title="East hole"
    )
    return {"west": Report.objects.get(pk=west.pk), "east": east}


def test_an_export_has_every_milestone_date_and_only_the_users_authority(
    client, tiny_city, west_and_east
):
    client.force_login(tiny_city.west_staff)

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="fixpoint-reports-')
    [row] = _csv(response)
    west = west_and_east["west"]
    assert row["reference"] == west.ref and row["state"] == "fixed"
    assert (row["category"], row["authority"], row["priority"]) == ("Pothole", "West", "normal")
    assert row["created"] == "2026-03-02T09:00:00+01:00"
    assert row["confirmed"] == "2026-03-02T09:00:00+01:00"
    assert row["verified"] == "2026-03-02T11:00:00+01:00"
    assert row["fixed"] == "2026-03-05T09:00:00+01:00"
    assert row["closed"] == ""
    assert west.sent_at is not None
    assert row["sent"] == timezone.localtime(west.sent_at).isoformat(timespec="seconds")
    assert float(row["latitude"]) == pytest.approx(tiny_city.WEST[0])
    assert row["supporters"] == "0"
    assert row["reporter_account_email"] == "west.reporter@example.org"


def test_supporters_are_counted_per_report(client, tiny_city, west_and_east):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Popular")
    for n in range(3):
        services.support_add(report_id=report.pk, email=f"fan{n}@example.org")
    client.force_login(tiny_city.west_staff)

    rows = {row["title"]: row for row in _csv(client.get(URL))}

    assert (rows["Popular"]["supporters"], rows["Hole"]["supporters"]) == ("3", "0")


def test_the_queue_filters_apply(client, tiny_city, west_and_east):
    open_one = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Still open")
    client.force_login(tiny_city.west_staff)

    fixed = _csv(client.get(URL, {"state": "fixed"}))
    still_open = _csv(client.get(URL, {"state": "open"}))
    by_text = _csv(client.get(URL, {"q": open_one.ref}))

    assert [r["title"] for r in fixed] == ["Hole"]
    assert [r["title"] for r in still_open] == ["Still open"]
    assert [r["reference"] for r in by_text] == [open_one.ref]


def test_a_superuser_exports_everything_or_one_authority(client, tiny_city, west_and_east):
    client.force_login(factories.UserFactory.create(is_superuser=True, is_staff=True))

    everything = _csv(client.get(URL))
    east = _csv(client.get(URL, {"authority": tiny_city.east.pk}))

    assert {r["title"] for r in everything} == {"Hole", "East hole"}
    assert [r["reporter_account_email"] for r in east] == ["east.secret@example.org"]


@pytest.mark.parametrize("guess", ["east", "999999", "abc"])
def test_guessing_another_authority_is_not_found_and_leaks_nothing(
    client, tiny_city, west_and_east, guess
):
    client.force_login(tiny_city.west_staff)
    value = tiny_city.east.pk if guess == "east" else guess

    response = client.get(URL, {"authority": value})

    assert response.status_code == 404
    assert b"east.secret" not in response.content


def test_bad_filters_get_a_clear_error(client, tiny_city, west_and_east):
    client.force_login(tiny_city.west_staff)

    response = client.get(URL, {"created_after": "yesterday-ish", "state": "nonsense"})

    assert response.status_code == 400
    text = response.content.decode()
    assert "created_after" in text and "state" in text
    assert not AuditEntry.objects.filter(action="export").exists()


def test_citizens_are_refused_and_visitors_sent_to_log_in(client, west_and_east):
    anonymous = client.get(URL)
    client.force_login(factories.UserFactory.create())

    assert anonymous.status_code == 302
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize(
    ("text", "exported"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+44 street", "'+44 street"),
        ("-1 lamp", "'-1 lamp"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("A plain = title", "A plain = title"),
    ],
)
def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(
    client, tiny_city, text, exported
):
    factories.report(tiny_city.pothole, *tiny_city.WEST, title=text)
    client.force_login(tiny_city.west_staff)

    [row] = _csv(client.get(URL))

    assert row["title"] == exported


def test_tabs_and_carriage_returns_at_the_start_are_neutralised_and_numbers_stay_numbers():
    assert exports.cell("\tcmd") == "'\tcmd"
    assert exports.cell("\r=1") == "'\r=1"
    assert exports.cell(-3.5) == -3.5
    assert exports.cell(None) == ""


def test_reporter_contact_is_left_out_for_reports_of_other_authorities(
    client, tiny_city, west_and_east
):
    # The export reads only the user's authorities' reports, so another's contact never shows.
    client.force_login(tiny_city.west_staff)
    response = client.get(URL)
    body = b"".join(response.streaming_content).decode()
    client.force_login(factories.UserFactory.create(is_superuser=True, is_staff=True))

    every = _csv(client.get(URL))

    assert "east.secret" not in body and "west.reporter@example.org" in body
    contact = {r["title"]: r["reporter_account_email"] for r in every}
    assert contact == {"Hole": "west.reporter@example.org", "East hole": "east.secret@example.org"}


def test_an_inspector_and_a_viewer_both_get_their_reports_contact(client, tiny_city, west_and_east):
    viewer = factories.staff(tiny_city.west, role="viewer")

    for user in (tiny_city.west_staff, viewer):
        client.force_login(user)
        [row] = _csv(client.get(URL))
        assert row["reporter_account_email"] == "west.reporter@example.org"


def test_without_contact_the_rows_keep_the_same_columns(tiny_city, west_and_east):
    rows = exports._rows(Report.objects.order_by("pk"), contact=False)

    lines = list(exports._lines(rows, contact=False))

    parsed = list(csv.DictReader(io.StringIO("".join(lines))))
    assert [r["title"] for r in parsed] == ["Hole", "East hole"]
    assert {r["reporter_account_email"] for r in parsed} == {""}
    assert list(parsed[0]) == [name for name, _ in exports.COLUMNS + exports.CONTACT]


def test_no_contact_at_all_when_the_setting_says_so(client, settings, tiny_city, west_and_east):
    settings.FIXPOINT_DELIVERY_REPORTER_CONTACT = False
    client.force_login(tiny_city.west_staff)

    [row] = _csv(client.get(URL))

    assert row["reporter_account_email"] == "" and row["reporter_email"] == ""


def test_each_export_is_audited_with_its_filters(client, tiny_city, west_and_east):
    client.force_login(tiny_city.west_staff)

    client.get(URL, {"state": "fixed", "authority": tiny_city.west.pk})

    entry = AuditEntry.objects.get(action="export")
    assert entry.actor == tiny_city.west_staff
    assert entry.authority == tiny_city.west
    assert entry.after["filters"]["state"] == ["fixed"]


def test_rows_are_read_while_streaming_not_before(
    client, tiny_city, west_and_east, django_assert_num_queries
):
    client.force_login(tiny_city.west_staff)
    client.get("/staff/stats/")  # warm the session

    # session, user, is staff, audit, the SLA targets (the queue's work order: overdue first)
    with django_assert_num_queries(5):
        response = client.get(URL)
    # one query, read in chunks by iterator() inside its own transaction (here a savepoint,
    # the test being one transaction already: SAVEPOINT and RELEASE are the other two)
    with django_assert_num_queries(3):
        rows = _csv(response)
    assert len(rows) == 1


def test_the_query_count_does_not_grow_with_the_rows(client, tiny_city, west_and_east):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(tiny_city.west_staff)
    client.get("/staff/stats/")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            _csv(client.get(URL))
        return len(captured)

    few = queries()
    for _ in range(10):
        factories.report(tiny_city.pothole, *tiny_city.WEST)
    assert queries() == few


def test_rows_are_sent_in_pieces_of_many_lines(client, tiny_city, west_and_east, monkeypatch):
    monkeypatch.setattr(exports, "LINES_PER_CHUNK", 2)
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="Second")
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="Third")
    client.force_login(tiny_city.west_staff)

    pieces = list(client.get(URL).streaming_content)

    assert [piece.count(b"\n") for piece in pieces] == [2, 2]  # header + 3 rows
