from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from reports.models import Report, ReportPhoto, ReportState
from reports.services import report_transition
from tests import factories
from tests.conftest import TinyCity

from .helpers import assert_xml_matches, valid_json, xml_root

pytestmark = pytest.mark.django_db
URL = "/open311/v2/requests.json"


def pothole(city: TinyCity, **fields: Any) -> Report:
    return factories.report(city.pothole, *city.WEST, **fields)


def refs(data: list[dict[str, Any]]) -> list[str]:
    return [row["service_request_id"] for row in data]


def test_a_public_report_is_a_service_request_with_every_field(
    client: Client, tiny_city: TinyCity
) -> None:
    report = pothole(tiny_city, title="Deep hole", description="Near the school.")
    data = valid_json(client.get(URL), "requests")
    local = timezone.localtime(report.created_at).isoformat(timespec="seconds")
    assert data == [
        {
            "service_request_id": report.ref,
            "status": "open",
            "status_notes": "Open",
            "detailed_status": "OPEN",
            "service_name": "Pothole",
            "service_code": "pothole",
            "title": "Deep hole",
            "description": "Near the school.",
            "agency_responsible": "West",
            "service_notice": None,
            "requested_datetime": local,
            "updated_datetime": local,
            "expected_datetime": None,
            "address": None,
            "address_id": None,
            "zipcode": None,
            "lat": 10.05,
            "long": 1.05,
            "media_url": None,
        }
    ]
    root = xml_root(client.get("/open311/v2/requests.xml"), "service_requests")
    assert [e.tag for e in root] == ["request"]
    assert_xml_matches(root[0], data[0])


def test_unconfirmed_and_spam_reports_are_never_listed_or_shown(
    client: Client, tiny_city: TinyCity
) -> None:
    public = pothole(tiny_city)
    unconfirmed = pothole(tiny_city, reporter_name="Ann", reporter_email="ann@example.org")
    spam = pothole(tiny_city)
    report_transition(report_id=spam.pk, to_state=ReportState.SPAM, actor=tiny_city.west_staff)
    assert refs(valid_json(client.get(URL), "requests")) == [public.ref]
    for hidden in (unconfirmed, spam):
        response = client.get(f"/open311/v2/requests/{hidden.ref}.json")
        valid_json(response, "errors", 404)
        assert client.get(f"/open311/v2/tokens/{hidden.ref}.json").status_code == 404


def test_reporters_contact_details_are_never_output(client: Client, tiny_city: TinyCity) -> None:
    citizen = factories.UserFactory.create(email="secret@example.org", display_name="Secret Sam")
    report = pothole(tiny_city, reporter=citizen, reporter_name="Sam", reporter_email="s@x.org")
    for path in (URL, f"/open311/v2/requests/{report.ref}.xml", "/open311/v2/requests.xml"):
        body = client.get(path).content.decode()
        assert report.ref in body
        for private in ("secret@example.org", "Secret Sam", "s@x.org", '"Sam"', ">Sam<"):
            assert private not in body


def test_closed_states_are_closed_with_the_public_note_as_status_notes(
    client: Client, tiny_city: TinyCity
) -> None:
    report = pothole(tiny_city)
    report_transition(
        report_id=report.pk,
        to_state=ReportState.FIXED,
        actor=tiny_city.west_staff,
        public_note="Filled on Monday.",
        internal_note="crew 4",
    )
    [row] = valid_json(client.get(f"/open311/v2/requests/{report.ref}.json"), "requests")
    assert (row["status"], row["detailed_status"], row["status_notes"]) == (
        "closed",
        "FIXED",
        "Filled on Monday.",
    )
    assert "crew 4" not in client.get(URL).content.decode()


def test_status_notes_fall_back_to_the_state_name(client: Client, tiny_city: TinyCity) -> None:
    report = pothole(tiny_city)
    report_transition(report_id=report.pk, to_state="in_progress", actor=tiny_city.west_staff)
    [row] = valid_json(client.get(URL), "requests")
    assert (row["status"], row["status_notes"], row["detailed_status"]) == (
        "open",
        "In progress",
        "IN_PROGRESS",
    )


def test_status_notes_name_the_state_in_each_answer_s_language(
    client: Client, tiny_city: TinyCity
) -> None:
    report = pothole(tiny_city)
    report_transition(report_id=report.pk, to_state="in_progress", actor=tiny_city.west_staff)
    # In turns: the names are kept per language in the process, and no answer gets another's.
    for language, name in [("ca", "En curs"), ("es", "En curso"), ("en", "In progress")] * 2:
        [row] = valid_json(client.get(URL, HTTP_ACCEPT_LANGUAGE=language), "requests")
        [one] = valid_json(
            client.get(f"/open311/v2/requests/{report.ref}.json", HTTP_ACCEPT_LANGUAGE=language),
            "requests",
        )
        assert row["status_notes"] == one["status_notes"] == name


def test_media_url_is_the_first_visible_photo_as_an_absolute_url(
    client: Client, tiny_city: TinyCity
) -> None:
    report = pothole(tiny_city)
    ReportPhoto.objects.create(
        report=report, image="reports/x/hidden.jpg", width=1, height=1, is_hidden=True
    )
    ReportPhoto.objects.create(report=report, image="reports/x/first.jpg", width=1, height=1)
    ReportPhoto.objects.create(report=report, image="reports/x/second.jpg", width=1, height=1)
    [row] = valid_json(client.get(URL), "requests")
    assert row["media_url"] == "http://testserver/media/reports/x/first.jpg"


def test_filters_by_service_code_and_status(client: Client, tiny_city: TinyCity) -> None:
    hole = pothole(tiny_city)
    fixed = pothole(tiny_city)
    report_transition(report_id=fixed.pk, to_state="fixed", actor=tiny_city.west_staff)
    bin_report = factories.report(tiny_city.bins, *tiny_city.WEST)
    get = lambda query: refs(valid_json(client.get(f"{URL}?{query}"), "requests"))  # noqa: E731
    assert set(get("service_code=pothole")) == {hole.ref, fixed.ref}
    assert set(get("service_code=bins,pothole&status=open")) == {hole.ref, bin_report.ref}
    assert get("status=closed") == [fixed.ref]
    assert set(get("status=open,closed")) == {hole.ref, fixed.ref, bin_report.ref}
    assert get("service_code=unknown") == []


def test_default_is_the_last_90_days_newest_first(client: Client, tiny_city: TinyCity) -> None:
    now = timezone.now()
    pothole(tiny_city, at=now - timedelta(days=91))
    older = pothole(tiny_city, at=now - timedelta(days=89))
    newer = pothole(tiny_city, at=now - timedelta(days=1))
    assert refs(valid_json(client.get(URL), "requests")) == [newer.ref, older.ref]


def test_start_and_end_date_select_by_requested_datetime(
    client: Client, tiny_city: TinyCity
) -> None:
    now = timezone.now()
    old = pothole(tiny_city, at=now - timedelta(days=200))
    pothole(tiny_city, at=now - timedelta(days=100))
    query = {
        "start_date": (now - timedelta(days=210)).isoformat(),
        "end_date": (now - timedelta(days=150)).isoformat(),
    }
    assert refs(valid_json(client.get(URL, query), "requests")) == [old.ref]
    only_start = {"start_date": (now - timedelta(days=201)).date().isoformat()}
    assert refs(valid_json(client.get(URL, only_start), "requests")) == [old.ref]


@pytest.mark.parametrize(
    ("query", "description"),
    [
        ("start_date=2026-01-01&end_date=2026-06-01", "may not span more than 90 days"),
        ("start_date=2026-02-01&end_date=2026-01-01", "start_date is after end_date"),
        ("start_date=yesterday", "start_date must be a date and time"),
        ("updated_after=soon", "updated_after must be a date and time"),
        ("status=pending", "status must be open or closed"),
        ("page=0", "page must be a whole number"),
        ("page_size=abc", "page_size must be a whole number"),
        ("page_size=1001", "page_size may be at most 1000"),
        ("bbox=1,2,3", "bbox must be west,south,east,north"),
        ("bbox=3,2,1,4", "bbox must be west,south,east,north"),
    ],
)
def test_an_invalid_parameter_is_400_saying_which(
    client: Client, tiny_city: TinyCity, query: str, description: str
) -> None:
    [error] = valid_json(client.get(f"{URL}?{query}"), "errors", 400)
    assert error["code"] == 400
    assert description in error["description"]
    root = xml_root(client.get(f"/open311/v2/requests.xml?{query}"), "errors", 400)
    assert_xml_matches(root[0], error)


def test_service_request_ids_ignore_every_other_filter(client: Client, tiny_city: TinyCity) -> None:
    old = pothole(tiny_city, at=timezone.now() - timedelta(days=300))
    new = pothole(tiny_city)
    hidden = pothole(tiny_city, reporter_name="Ann", reporter_email="ann@example.org")
    query = f"service_request_id={old.ref},{new.ref},{hidden.ref},NOPE&status=closed"
    assert refs(valid_json(client.get(f"{URL}?{query}"), "requests")) == [new.ref, old.ref]


def test_pages_follow_each_other_without_overlap(client: Client, tiny_city: TinyCity) -> None:
    now = timezone.now()
    made = [pothole(tiny_city, at=now - timedelta(hours=n)) for n in range(5)]
    pages = [
        refs(valid_json(client.get(f"{URL}?page_size=2&page={page}"), "requests"))
        for page in (1, 2, 3, 4)
    ]
    assert pages == [[r.ref for r in made[0:2]], [r.ref for r in made[2:4]], [made[4].ref], []]


def test_updated_after_and_before_select_by_last_change(
    client: Client, tiny_city: TinyCity
) -> None:
    now = timezone.now()
    stale = pothole(tiny_city, at=now - timedelta(days=300))
    moved = pothole(tiny_city, at=now - timedelta(days=300))
    report_transition(
        report_id=moved.pk,
        to_state="verified",
        actor=tiny_city.west_staff,
        at=now - timedelta(days=1),
    )
    after = {"updated_after": (now - timedelta(days=2)).isoformat()}
    assert refs(valid_json(client.get(URL, after), "requests")) == [moved.ref]
    before = {"updated_before": (now - timedelta(days=2)).isoformat()}
    assert refs(valid_json(client.get(URL, before), "requests")) == [stale.ref]


def test_bbox_selects_reports_inside_west_south_east_north(
    client: Client, tiny_city: TinyCity
) -> None:
    west = pothole(tiny_city)
    factories.report(tiny_city.pothole, *tiny_city.EAST)
    data = valid_json(client.get(f"{URL}?bbox=1.0,10.0,1.1,10.1"), "requests")
    assert refs(data) == [west.ref]


def test_request_detail_is_a_list_of_one_in_both_formats(
    client: Client, tiny_city: TinyCity
) -> None:
    report = pothole(tiny_city)
    data = valid_json(client.get(f"/open311/v2/requests/{report.ref}.json"), "requests")
    assert refs(data) == [report.ref]
    root = xml_root(client.get(f"/open311/v2/requests/{report.ref}.xml"), "service_requests")
    assert_xml_matches(root[0], data[0])


def test_unknown_request_is_404(client: Client, tiny_city: TinyCity) -> None:
    data = valid_json(client.get("/open311/v2/requests/NOPE.json"), "errors", 404)
    assert data == [{"code": 404, "description": "There is no service request 'NOPE'."}]


@pytest.mark.parametrize(
    ("language", "description"),
    [
        ("en", "There is no service request 'NOPE'."),
        ("ca", "No hi ha cap sol·licitud de servei 'NOPE'."),
        ("es", "No existe la solicitud de servicio 'NOPE'."),
    ],
)
def test_an_error_is_described_in_the_language_asked_for(
    client: Client, tiny_city: TinyCity, language: str, description: str
) -> None:
    answer = client.get("/open311/v2/requests/NOPE.json", HTTP_ACCEPT_LANGUAGE=language)
    assert valid_json(answer, "errors", 404) == [{"code": 404, "description": description}]
    dates = "start_date=2026-02-01&end_date=2026-01-01"
    [error] = valid_json(client.get(f"{URL}?{dates}", HTTP_ACCEPT_LANGUAGE=language), "errors", 400)
    assert (
        error["description"]
        == {
            "en": "start_date is after end_date.",
            "ca": "start_date és posterior a end_date.",
            "es": "start_date es posterior a end_date.",
        }[language]
    )


def test_a_token_resolves_to_its_service_request(client: Client, tiny_city: TinyCity) -> None:
    report = pothole(tiny_city)
    data = valid_json(client.get(f"/open311/v2/tokens/{report.ref}.json"), "token-response")
    assert data == [{"service_request_id": report.ref, "token": report.ref}]
    root = xml_root(client.get(f"/open311/v2/tokens/{report.ref}.xml"), "service_requests")
    assert_xml_matches(root[0], data[0])


def test_unknown_token_is_404(client: Client, tiny_city: TinyCity) -> None:
    data = valid_json(client.get("/open311/v2/tokens/NOPE.json"), "errors", 404)
    assert data[0]["description"] == "There is no token 'NOPE'."


@pytest.mark.parametrize("count", [2, 12])
def test_list_and_detail_cost_one_query_however_many_reports(
    client: Client, tiny_city: TinyCity, django_assert_num_queries: Any, count: int
) -> None:
    made = [pothole(tiny_city) for _ in range(count)]
    for report in made:
        ReportPhoto.objects.create(report=report, image="reports/x/a.jpg", width=1, height=1)
    report_transition(report_id=made[0].pk, to_state="fixed", actor=tiny_city.west_staff)
    with django_assert_num_queries(1):
        assert len(client.get(f"{URL}?page_size=100").json()) == count
    with django_assert_num_queries(1):
        client.get(f"/open311/v2/requests/{made[0].ref}.json")


def test_a_dated_search_is_one_query_that_answers_like_any_search(
    client: Client, tiny_city: TinyCity, django_assert_num_queries
) -> None:
    from reports.open311 import selectors

    now = timezone.now()
    made = [pothole(tiny_city, at=now - timedelta(days=n * 10)) for n in range(7)]
    spam = pothole(tiny_city, at=now - timedelta(days=5))
    report_transition(report_id=spam.pk, to_state="spam", actor=tiny_city.west_staff)
    pothole(tiny_city, reporter_name="Ann", reporter_email="ann@example.org")  # unconfirmed
    since, until = now - timedelta(days=45), now - timedelta(days=5)
    dated: dict[str, Any] = {
        "start_date": since.isoformat(),
        "end_date": until.isoformat(),
        "page_size": 2,
    }

    for page in (1, 2, 3):
        with django_assert_num_queries(1):
            answered = refs(valid_json(client.get(URL, {**dated, "page": page}), "requests"))
        general = selectors.service_request_page(
            selectors.service_request_search(created=(since, until)), (page - 1) * 2, 2
        )
        assert answered == [row["service_request_id"] for row in map(_writer(), general)]
    assert refs(valid_json(client.get(URL), "requests")) == [r.ref for r in made]
    assert refs(valid_json(client.get(URL, {"page_size": 3, "page": 3}), "requests")) == [
        made[6].ref
    ]


def _writer() -> Any:
    from reports.open311.views import ServiceRequestWriter

    return ServiceRequestWriter("/media/")
