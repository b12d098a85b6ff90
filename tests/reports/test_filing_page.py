"""The filing page's promises that need no browser: the confirmation link points where the
site was reached when BASE_URL is unset, the check-your-e-mail page names the report, and a
refused form lists what to fix, saying what to do."""

from __future__ import annotations

from reports.models import Notification
from tests import factories

NEW = "/reports/new/"


def _anonymous(city, **extra):
    lat, lon = city.WEST
    return {
        "latitude": lat,
        "longitude": lon,
        "category": "pothole",
        "title": "Deep hole",
        "description": "Next to the bakery",
        "name": "Ana",
        "email": "ana@example.org",
        **extra,
    }


def test_without_base_url_the_confirmation_link_uses_the_host_and_port_asked(
    tiny_city, client, settings
):
    settings.FIXPOINT_BASE_URL = ""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]

    response = client.post(NEW, _anonymous(tiny_city), HTTP_HOST="127.0.0.1:8155")

    body = Notification.objects.get(kind="report_confirm").body
    assert "http://127.0.0.1:8155/reports/confirm/" in body
    assert "Your report “Deep hole”" in response.content.decode()


def test_with_base_url_the_confirmation_link_uses_it_whatever_the_host(tiny_city, client, settings):
    settings.FIXPOINT_BASE_URL = "https://fixpoint.example.org"
    settings.ALLOWED_HOSTS = ["127.0.0.1"]

    client.post(NEW, _anonymous(tiny_city), HTTP_HOST="127.0.0.1:8155")

    body = Notification.objects.get(kind="report_confirm").body
    assert "https://fixpoint.example.org/reports/confirm/" in body


def test_a_refused_form_lists_each_problem_linked_to_its_field(tiny_city, client):
    response = client.post(NEW, _anonymous(tiny_city, title="", email="ana@"))

    html = response.content.decode()
    assert 'id="error-summary"' in html
    assert 'href="#id_title"' in html and "Give your report a short title" in html
    assert 'href="#id_email"' in html and "like name@example.org" in html
    assert "Next to the bakery" in html  # what was typed is kept


def test_the_report_page_offers_to_report_another_problem_at_its_spot(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    html = client.get(report.get_absolute_url()).content.decode()

    assert f"{NEW}?latitude={tiny_city.WEST[0]:.6f}&amp;longitude={tiny_city.WEST[1]:.6f}" in html
