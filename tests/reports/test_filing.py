"""Filing a report on the website, without a browser: what the server decides and keeps."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from reports.models import Report, ReportPhoto, ReportState
from tests import factories

NEW = "/reports/new/"


def jpeg(name: str = "hole.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 90, 60)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def form_data(city, **extra):
    lat, lon = city.WEST
    return {
        "latitude": lat,
        "longitude": lon,
        "category": "pothole",
        "title": "Deep hole",
        "description": "Next to the bakery",
        **extra,
    }


def test_the_form_offers_only_the_categories_of_that_spot_and_names_the_receiver(tiny_city, client):
    factories.CategoryFactory.create(name="Graffiti", slug="graffiti")

    html = client.get(NEW, {"latitude": 10.05, "longitude": 1.05}).content.decode()

    assert 'value="pothole"' in html and 'value="bins"' in html
    assert 'value="graffiti"' not in html
    assert "West" in html  # the district that receives potholes here


def test_outside_every_boundary_the_page_says_so_and_offers_nothing_to_send(tiny_city, client):
    response = client.get(NEW, {"latitude": 50.0, "longitude": 1.0})

    html = response.content.decode()
    assert "No council covers this spot" in html
    assert 'id="report-form"' not in html


def test_an_anonymous_citizen_is_asked_to_confirm_by_email(
    tiny_city, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(NEW, form_data(tiny_city, name="Ana", email="ana@example.org"))

    assert "check your e-mail" in response.content.decode().lower()
    report = Report.objects.get()
    assert report.state == ReportState.UNCONFIRMED and report.authority == tiny_city.west
    assert mailoutbox[0].to == ["ana@example.org"]


def test_a_signed_in_citizens_report_is_public_at_once(tiny_city, client):
    client.force_login(factories.UserFactory.create())

    response = client.post(NEW, form_data(tiny_city))

    report = Report.objects.get()
    assert response.status_code == 302 and response.url == report.get_absolute_url()
    assert report.state == ReportState.OPEN


def test_errors_keep_what_was_typed_and_the_photos_already_kept(tiny_city, client):
    factories.report(tiny_city.pothole, 10.0501, 1.0501, title="Old hole")  # ~15 m away
    client.force_login(factories.UserFactory.create())
    first = client.post(NEW, form_data(tiny_city, photos=jpeg()))  # "Is it one of these?"
    photo = ReportPhoto.objects.get()
    token = first.context["form"].data["photo_tokens"]
    assert token == photo.upload_token and photo.image.url in first.content.decode()

    second = client.post(NEW, form_data(tiny_city, title="", photo_tokens=token))

    html = second.content.decode()
    assert "Next to the bakery" in html and "Give your report a short title" in html
    assert photo.image.url in html and second.context["form"].data["photo_tokens"] == token

    client.post(NEW, form_data(tiny_city, photo_tokens=token, confirm_new="True"))

    report = Report.objects.get(title="Deep hole")
    assert list(report.photos.all()) == [ReportPhoto.objects.get()]


def _count_decoding(monkeypatch) -> list[str]:
    """Records every image decoded (Pillow's load of the pixels), by format."""
    from PIL import ImageFile

    decoded: list[str] = []
    load = ImageFile.ImageFile.load

    def counting(image, *args, **kwargs):
        if image.tile:  # pixels still to decode (load() of a loaded image does nothing)
            decoded.append(image.format)
        return load(image, *args, **kwargs)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting)
    return decoded


def png(side: int = 2000, name: str = "big.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (90, 90, 90)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_an_invalid_anonymous_form_decodes_no_photo_and_stores_no_file(
    tiny_city, client, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    decoded = _count_decoding(monkeypatch)
    photos = [png(name=f"p{n}.png") for n in range(3)]

    response = client.post(NEW, form_data(tiny_city, name="Ana", email="", photos=photos))

    html = response.content.decode()
    assert "we send the confirmation link there" in html and "Attach your new photos again" in html
    assert decoded == [] and not ReportPhoto.objects.exists()
    assert not any(path.is_file() for path in tmp_path.rglob("*"))
    assert not Report.objects.exists()


def test_a_form_refused_by_the_rate_limit_decodes_no_photo(
    tiny_city, client, monkeypatch, settings
):
    settings.FIXPOINT_REPORT_RATE = 1
    client.force_login(factories.UserFactory.create())
    client.post(NEW, form_data(tiny_city, confirm_new="True"))
    decoded = _count_decoding(monkeypatch)

    response = client.post(NEW, form_data(tiny_city, title="More", photos=[png(), png()]))

    assert "Please wait" in response.content.decode()
    assert decoded == [] and not ReportPhoto.objects.exists()
    assert Report.objects.count() == 1


def test_a_wrong_answer_to_a_question_is_found_before_any_photo_is_decoded(
    tiny_city, client, monkeypatch
):
    from authorities.models import CategoryQuestion

    CategoryQuestion.objects.create(
        category=tiny_city.pothole, code="depth", label="Depth", datatype="number", required=True
    )
    client.force_login(factories.UserFactory.create())
    decoded = _count_decoding(monkeypatch)

    response = client.post(NEW, form_data(tiny_city, photos=png()))

    assert "Depth: an answer is required." in response.content.decode()
    assert decoded == [] and not ReportPhoto.objects.exists()


def test_the_photos_of_one_form_share_a_decoded_pixel_budget(
    tiny_city, client, monkeypatch, settings
):
    settings.FIXPOINT_PHOTO_MAX_REQUEST_PIXELS = 5_000_000  # one 2000x2000 PNG (4 MP) fits
    client.force_login(factories.UserFactory.create())
    decoded = _count_decoding(monkeypatch)

    response = client.post(
        NEW, form_data(tiny_city, photos=[png(name="a.png"), png(name="b.png"), jpeg("c.jpg")])
    )

    html = response.content.decode()
    assert "b.png: Together with the photos before it" in html
    assert "at most 5 megapixels a time" in html
    assert decoded == ["PNG", "JPEG"]  # b.png was refused from its header, unread
    assert ReportPhoto.objects.count() == 2 and not Report.objects.exists()


def test_an_update_decodes_its_photos_only_when_its_text_is_valid_and_within_the_limit(
    tiny_city, client, monkeypatch, settings
):
    settings.FIXPOINT_REPORT_RATE = 1
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    client.force_login(factories.UserFactory.create())
    url = f"/reports/{report.ref}/update/"
    decoded = _count_decoding(monkeypatch)

    empty = client.post(url, {"text": "", "photos": png()})
    first = client.post(url, {"text": "Still there", "photos": jpeg()})
    second = client.post(url, {"text": "And worse", "photos": jpeg()})
    third = client.post(url, {"text": "Words only"})

    assert empty.status_code == 400 and "Attach your new photos again" in empty.content.decode()
    assert first.status_code == 302 and second.status_code == 400
    assert "Please wait" in second.content.decode()
    assert third.status_code == 302  # updates without photos are not limited
    assert decoded == ["JPEG"] and ReportPhoto.objects.count() == 1
    assert list(report.updates.values_list("text", flat=True).order_by("pk")) == [
        "Still there",
        "Words only",
    ]


def test_a_bad_photo_is_refused_by_name_and_the_text_is_kept(tiny_city, client):
    client.force_login(factories.UserFactory.create())
    fake = SimpleUploadedFile("virus.jpg", b"not an image at all", content_type="image/jpeg")

    response = client.post(NEW, form_data(tiny_city, photos=fake))

    assert "virus.jpg" in response.content.decode()
    assert "Next to the bakery" in response.content.decode()
    assert not Report.objects.exists()


def test_an_open_report_of_the_same_kind_nearby_is_suggested_before_filing(tiny_city, client):
    existing = factories.report(tiny_city.pothole, 10.0501, 1.0501, title="Old hole")  # ~15 m
    client.force_login(factories.UserFactory.create())

    first = client.post(NEW, form_data(tiny_city))

    html = first.content.decode()
    assert "Is it one of these?" in html and "Old hole" in html
    assert f"/reports/{existing.ref}/support/" in html
    assert Report.objects.count() == 1

    client.post(NEW, form_data(tiny_city, confirm_new="True"))
    assert Report.objects.count() == 2


def test_too_many_reports_in_a_short_time_are_refused_with_a_clear_message(
    tiny_city, client, settings
):
    settings.FIXPOINT_REPORT_RATE = 2
    client.force_login(factories.UserFactory.create())
    for n in range(2):
        client.post(NEW, form_data(tiny_city, title=f"Hole {n}", confirm_new="True"))

    response = client.post(NEW, form_data(tiny_city, title="One more", confirm_new="True"))

    html = response.content.decode()
    assert "Please wait" in html and "One more" in html
    assert Report.objects.count() == 2


def test_text_is_escaped_on_every_page(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="<script>alert(1)</script>")

    for url in ("/", report.get_absolute_url(), f"/reports/{report.ref}/feed/"):
        assert "<script>alert(1)</script>" not in client.get(url).content.decode(), url


@pytest.mark.parametrize("query", ["", "latitude=abc&longitude=1"])
def test_the_form_without_a_position_asks_for_one(tiny_city, client, query):
    html = client.get(f"{NEW}?{query}").content.decode()

    assert "show us where the problem is" in html
