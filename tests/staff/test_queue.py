"""The staff queue opens on the work to do, in the order to do it, with filters made for the job;
staff land on it when they log in."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from authorities import services as authority_services
from authorities.models import Area
from reports import services
from reports.models import Priority, ReportState
from reports.staff import selectors
from reports.staff.filters import queue_defaults
from tests import factories

PASSWORD = "a-long-enough-password-42"


def _person(email: str, **fields) -> object:
    user = factories.UserFactory.create(email=email, **fields)
    user.set_password(PASSWORD)
    user.save()
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _log_in(client, email: str):
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD})


def test_staff_land_on_the_queue_after_logging_in_and_citizens_on_their_reports(client, tiny_city):
    inspector = _person("inspector@west.example.org")
    authority_services.staff_membership_set(user=inspector, authority=tiny_city.west, role="viewer")
    _person("citizen@example.org")

    staff_answer = _log_in(client, "inspector@west.example.org")
    client.logout()
    citizen_answer = _log_in(client, "citizen@example.org")

    assert staff_answer.status_code == 302
    assert staff_answer.url == reverse("staff:queue")
    assert citizen_answer.url == reverse("reports:mine")


def test_a_next_page_asked_for_at_log_in_wins_over_the_queue(client, tiny_city):
    inspector = _person("inspector@west.example.org")
    authority_services.staff_membership_set(user=inspector, authority=tiny_city.west, role="viewer")

    answer = client.post(
        reverse("account_login") + "?next=/staff/stats/",
        {"login": inspector.email, "password": PASSWORD},
    )

    assert answer.url == "/staff/stats/"


def _queue(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("staff:queue"), params)
    assert response.status_code == 200
    return response


def test_the_queue_opens_on_the_work_to_do_overdue_first_then_by_priority_then_oldest(
    client, tiny_city
):
    tiny_city.pothole.sla_verify_hours = 24
    tiny_city.pothole.save()
    staff = tiny_city.west_staff
    now = timezone.now()

    def filed(title: str, hours_ago: float, **change):
        report = factories.report(
            tiny_city.pothole, *tiny_city.WEST, title=title, at=now - timedelta(hours=hours_ago)
        )
        if "priority" in change:
            services.report_set_priority(
                report_id=report.pk, priority=change["priority"], actor=staff
            )
        if "state" in change:
            services.report_transition(report_id=report.pk, to_state=change["state"], actor=staff)
        return report

    old_normal = filed("Old normal", 10)
    new_urgent = filed("New urgent", 1, priority=Priority.URGENT)
    overdue = filed("Overdue", 30)
    filed("Fixed one", 2, state=ReportState.FIXED)
    in_progress = filed("In progress", 3, state=ReportState.IN_PROGRESS)
    newer_normal = filed("Newer normal", 5, state=ReportState.VERIFIED)

    response = _queue(client, staff)

    assert [r.title for r in response.context["page"]] == [
        overdue.title,
        new_urgent.title,
        old_normal.title,
        newer_normal.title,
        in_progress.title,
    ]
    html = response.content.decode()
    for state in ("open", "verified", "in_progress"):
        assert f'name="state" value="{state}" id="id_state_{_position(state)}" checked' in html
    assert f'name="state" value="fixed" id="id_state_{_position("fixed")}">' in html


def _position(state: str) -> int:
    return ReportState.values.index(state)


def test_the_filter_form_sent_with_no_state_ticked_shows_every_state(client, tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="Open one")
    fixed = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Fixed one")
    services.report_transition(report_id=fixed.pk, to_state="fixed", actor=tiny_city.west_staff)

    default = _queue(client, tiny_city.west_staff)
    every = _queue(client, tiny_city.west_staff, chosen="1")
    only_fixed = _queue(client, tiny_city.west_staff, chosen="1", state="fixed")

    assert [r.title for r in default.context["page"]] == ["Open one"]
    assert {r.title for r in every.context["page"]} == {"Open one", "Fixed one"}
    assert [r.title for r in only_fixed.context["page"]] == ["Fixed one"]
    assert "state=open" in default.context["query"]  # pages and the export keep the default


def test_the_queue_default_names_the_work_states_and_keeps_a_choice(rf):
    defaults = queue_defaults(rf.get("/staff/").GET)
    chosen = queue_defaults(rf.get("/staff/", {"state": "fixed"}).GET)
    sent = queue_defaults(rf.get("/staff/", {"chosen": "1"}).GET)

    assert defaults.getlist("state") == ["open", "verified", "in_progress"]
    assert chosen.getlist("state") == ["fixed"]
    assert sent.getlist("state") == []


def _area(name: str, lon: float, lat: float) -> Area:
    area = Area(name=name, boundary=factories.square(lon, lat, 0.02), authority=None)
    return authority_services.area_save(area=area)


def test_neighbourhoods_offered_are_those_of_the_staff_members_authorities(client, tiny_city):
    west_a, west_b = _area("West A", 1.01, 10.01), _area("West B", 1.05, 10.05)
    east_a = _area("East A", 1.15, 10.05)
    boss = factories.UserFactory.create(is_superuser=True, is_staff=True)

    def offered(user) -> set[str]:
        return set(selectors.staff_areas(user).values_list("name", flat=True))

    assert offered(tiny_city.west_staff) == {west_a.name, west_b.name}
    assert offered(tiny_city.east_staff) == {east_a.name}
    assert offered(tiny_city.city_staff) == {west_a.name, west_b.name, east_a.name}
    assert offered(boss) == {west_a.name, west_b.name, east_a.name}
    assert offered(factories.UserFactory.create()) == set()
    html = _queue(client, tiny_city.west_staff).content.decode()
    assert "West A" in html and "East A" not in html


def test_a_neighbourhood_tied_to_the_authority_is_offered_wherever_it_lies(tiny_city):
    area = _area("Far away", 5.0, 5.0)
    area.authority = tiny_city.east
    authority_services.area_save(area=area)

    assert list(selectors.staff_areas(tiny_city.east_staff)) == [area]
    assert list(selectors.staff_areas(tiny_city.west_staff)) == []


def test_a_neighbourhood_of_another_district_is_refused_as_a_filter(client, tiny_city):
    east_a = _area("East A", 1.15, 10.05)
    factories.report(tiny_city.pothole, *tiny_city.WEST)

    response = _queue(client, tiny_city.west_staff, area=east_a.pk)

    assert "area" in response.context["filter"].errors
    assert 'href="#id_area">Neighbourhood:' in response.content.decode()


def test_the_filters_offer_any_instead_of_dashes_and_pick_dates_with_a_date_picker(
    client, tiny_city
):
    factories.report(tiny_city.pothole, *tiny_city.WEST)

    html = _queue(client, tiny_city.west_staff).content.decode()

    assert "---------" not in html
    assert 'type="date" name="created_after"' in html
    assert 'type="date" name="created_before"' in html
    assert 'name="state"' in html and 'type="checkbox" name="state"' in html


def test_the_authority_filter_shows_only_to_people_of_several_authorities(client, tiny_city):
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    both = factories.staff(tiny_city.west)
    authority_services.staff_membership_set(user=both, authority=tiny_city.east, role="viewer")

    one = _queue(client, tiny_city.west_staff).content.decode()
    several = _queue(client, both).content.decode()

    assert 'name="authority"' not in one
    assert 'name="authority"' in several


def test_a_bad_filter_value_is_named_by_its_label_in_a_summary(client, tiny_city):
    html = _queue(client, tiny_city.west_staff, created_after="yesterday").content.decode()

    assert "Some filters could not be used" in html
    assert 'href="#id_created_after">Created from:' in html
