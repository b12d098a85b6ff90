"""The JSON the site's own pages use: locate, nearby, search, boundaries, the list, photo GPS."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from reports import services
from reports.models import ReportState
from tests import factories


def test_locate_lists_categories_with_receiver_and_questions(tiny_city, client):
    from authorities.models import CategoryQuestion

    CategoryQuestion.objects.create(
        category=tiny_city.bins, code="container", label="Which?", datatype="string"
    )

    data = client.get("/locate.json", {"lat": 10.05, "lon": 1.15}).json()

    assert [a["slug"] for a in data["authorities"]] == ["east", "tiny-city"]
    offers = {c["slug"]: c for c in data["categories"]}
    assert offers["pothole"]["authority"]["slug"] == "east"
    assert offers["bins"]["authority"]["slug"] == "tiny-city"
    assert offers["bins"]["questions"][0]["code"] == "container"


def test_locate_outside_or_with_bad_input_answers_a_clear_error(tiny_city, client):
    outside = client.get("/locate.json", {"lat": 50, "lon": 1})
    bad = client.get("/locate.json", {"lat": "north", "lon": 1})

    assert outside.status_code == 422  # as on the API and Open311
    assert outside.json()["error"]["code"] == "no_authority_here"
    assert bad.status_code == 400 and "lat" in bad.json()["error"]["message"]


def test_nearby_lists_open_reports_of_the_category_within_fifty_metres(tiny_city, client):
    close = factories.report(tiny_city.pothole, 10.0502, 1.0502, title="Close")  # ~30 m
    factories.report(tiny_city.pothole, 10.052, 1.052, title="Far")  # ~300 m
    factories.report(tiny_city.bins, 10.0501, 1.0501, title="Other kind")
    fixed = factories.report(tiny_city.pothole, 10.0501, 1.05, title="Fixed one")
    services.report_transition(
        report_id=fixed.pk, to_state=ReportState.FIXED, actor=tiny_city.west_staff
    )
    services.support_add(report_id=close.pk, email="a@example.org")

    data = client.get("/nearby.json", {"lat": 10.05, "lon": 1.05, "category": "pothole"}).json()

    assert [(r["title"], r["supports"]) for r in data["reports"]] == [("Close", 1)]


def test_search_finds_places_and_report_text(tiny_city, client):
    factories.report(
        tiny_city.pothole, *tiny_city.WEST, title="Broken kerb", description="Near the old fountain"
    )
    factories.report(
        tiny_city.pothole,
        *tiny_city.WEST,
        title="Secret",
        description="fountain",
        reporter_name="Ana",
        reporter_email="ana@example.org",
    )

    places = client.get("/search.json", {"q": "eas"}).json()["places"]
    reports = client.get("/search.json", {"q": "fountain"}).json()["reports"]

    assert [p["name"] for p in places] == ["East"]
    assert [r["title"] for r in reports] == ["Broken kerb"]
    assert client.get("/search.json", {"q": "x"}).json() == {"places": [], "reports": []}


def test_boundaries_are_served_as_geojson(tiny_city, client):
    data = client.get("/boundaries.json").json()

    assert {f["properties"]["slug"] for f in data["features"]} == {"tiny-city", "west", "east"}
    assert data["features"][0]["geometry"]["type"] == "Polygon"


def test_the_list_shows_public_reports_in_the_viewport_newest_or_nearest(tiny_city, client):
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="West hole")
    factories.report(tiny_city.pothole, *tiny_city.EAST, title="East hole")
    factories.report(
        tiny_city.pothole,
        *tiny_city.WEST,
        title="Hidden",
        reporter_name="A",
        reporter_email="a@example.org",
    )
    west_box = "1.0,10.0,1.1,10.1"

    newest = client.get("/map/list.json", {"bbox": west_box}).json()
    nearest = client.get(
        "/map/list.json",
        {"bbox": "1.0,10.0,1.2,10.1", "sort": "nearest", "lat": 10.05, "lon": 1.16},
    ).json()

    assert [r["title"] for r in newest["reports"]] == ["West hole"] and newest["total"] == 1
    assert [r["title"] for r in nearest["reports"]] == ["East hole", "West hole"]
    assert client.get("/map/list.json", {"bbox": "9,9"}).status_code == 400


def test_photo_gps_reads_the_position_or_says_there_is_none(db, client):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "JPEG")
    plain = SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg")

    assert client.post("/photo-gps.json", {"photo": plain}).json() == {}
    assert client.post("/photo-gps.json", {}).status_code == 400


def test_the_atom_feed_lists_the_public_timeline(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    services.report_transition(
        report_id=report.pk,
        to_state=ReportState.VERIFIED,
        actor=tiny_city.west_staff,
        public_note="On our list",
        internal_note="hush",
    )

    response = client.get(f"/reports/{report.ref}/feed/")

    body = response.content.decode()
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "On our list" in body and "hush" not in body


def test_the_list_accepts_a_zoomed_out_map_past_the_date_line(tiny_city, client):
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="West hole")

    data = client.get("/map/list.json", {"bbox": "-250,-85,250,85"}).json()

    assert [r["title"] for r in data["reports"]] == ["West hole"]
