"""On the street, on a phone (issue 16), without a browser: the manifest, the service worker
served from the root, and a draft written offline sent once with its Idempotency-Key. The browser
journey (offline, filing, back online) is tests/browser/test_offline_drafts.py."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from accounts.models import IdempotencyKey
from reports.models import Report, ReportPhoto, ReportState
from reports.offline import FILING_STATIC
from tests import factories

DRAFT = "/reports/new/draft/"
KEY = "5b0f7e52-2a8e-4f55-9f0e-0d1c2b3a4f5e"
STATIC = Path(settings.BASE_DIR) / "static"


def jpeg(name: str = "hole.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 90, 60)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def stored_files() -> set[Path]:
    return {path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()}


def draft(city, **extra):
    lat, lon = city.WEST
    return {
        "latitude": lat,
        "longitude": lon,
        "category": "pothole",
        "title": "Deep hole",
        "description": "Written with no signal",
        **extra,
    }


def test_the_manifest_is_served_with_its_content_type_and_names_our_icons(client, db):
    response = client.get("/manifest.webmanifest")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#0b3d6e"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        name = icon["src"].removeprefix("/static/")
        with Image.open(STATIC / name) as image:
            assert "x".join(map(str, image.size)) == icon["sizes"]


def test_the_manifest_speaks_the_readers_language(client, db):
    manifest = client.get("/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="ca").json()

    assert manifest["lang"] == "ca"
    assert manifest["shortcuts"][0]["name"] == "Comunicar un problema"


def test_every_page_links_the_manifest_theme_colour_and_worker(client, db):
    html = client.get("/").content.decode()

    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="theme-color" content="#0b3d6e">' in html
    assert 'data-worker="/sw.js"' in html


def test_the_service_worker_is_served_from_the_root_under_the_sites_policy(client, db):
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    # The site's Content-Security-Policy applies to the worker's own requests: this site only.
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    config = json.loads(re.match(r"self\.FIXPOINT_OFFLINE = (.*);\n", response.content.decode())[1])
    assert config["filing"] == "/reports/new/"
    assert config["filingPage"].startswith("/reports/new/?latitude=")
    assert "/static/js/offline.js" in config["keep"]
    assert "/i18n/js/?v=en-gb" in config["keep"] or "/i18n/js/?v=en" in config["keep"]


def test_the_worker_changes_when_signing_in_so_the_kept_page_is_made_again(client, db):
    before = client.get("/sw.js").content
    client.force_login(factories.UserFactory.create())

    assert client.get("/sw.js").content != before


def test_the_worker_keeps_every_script_and_stylesheet_the_filing_page_loads(tiny_city, client):
    lat, lon = tiny_city.WEST
    html = client.get("/reports/new/", {"latitude": lat, "longitude": lon}).content.decode()
    loaded = set(re.findall(r'(?:src|href)="/static/([^"]+\.(?:js|css))"', html))

    assert loaded, "the page loads no static file?"
    assert loaded <= set(FILING_STATIC)


def test_a_signed_in_citizens_draft_is_filed_once_whatever_the_retries(tiny_city, client):
    client.force_login(factories.UserFactory.create())

    first = client.post(DRAFT, draft(tiny_city, photos=jpeg()), HTTP_IDEMPOTENCY_KEY=KEY)
    stored = stored_files()
    again = client.post(DRAFT, draft(tiny_city, photos=jpeg()), HTTP_IDEMPOTENCY_KEY=KEY)

    # With photos the key is looked up first: the retry decodes and stores none.
    assert stored and stored_files() == stored
    report = Report.objects.get()
    assert first.status_code == 201 and again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["url"] == report.get_absolute_url()
    assert report.state == ReportState.OPEN and report.title == "Deep hole"
    assert ReportPhoto.objects.filter(report=report).count() == 1


def test_a_retry_answers_as_the_first_even_when_filing_again_would_be_too_soon(
    tiny_city, client, settings
):
    client.force_login(factories.UserFactory.create())
    first = client.post(DRAFT, draft(tiny_city), HTTP_IDEMPOTENCY_KEY=KEY)
    settings.FIXPOINT_REPORT_RATE = 0
    assert client.post(DRAFT, draft(tiny_city), HTTP_IDEMPOTENCY_KEY="other").status_code == 429

    again = client.post(DRAFT, draft(tiny_city), HTTP_IDEMPOTENCY_KEY=KEY)

    assert again.status_code == 201 and again.json() == first.json()
    assert Report.objects.count() == 1


def test_a_retry_from_another_page_with_a_new_csrf_token_still_files_nothing_more(tiny_city, db):
    user = factories.UserFactory.create()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    def send():
        browser.get("/reports/new/")  # a page, and with it a token
        token = browser.cookies["csrftoken"].value
        return browser.post(
            DRAFT, draft(tiny_city), HTTP_IDEMPOTENCY_KEY=KEY, HTTP_X_CSRFTOKEN=token
        )

    assert send().status_code == 201
    assert send().status_code == 201
    assert Report.objects.count() == 1


def test_an_anonymous_draft_waits_for_its_confirmation_e_mail(
    tiny_city, client, mailoutbox, django_capture_on_commit_callbacks
):
    data = draft(tiny_city, name="Ana", email="ana@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(DRAFT, data, HTTP_IDEMPOTENCY_KEY=KEY)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(DRAFT, data, HTTP_IDEMPOTENCY_KEY=KEY)

    report = Report.objects.get()
    assert first.status_code == again.status_code == 201
    assert report.state == ReportState.UNCONFIRMED and report.reporter_email == "ana@example.org"
    assert "url" not in first.json()  # not public until confirmed
    assert "e-mailed you" in first.json()["message"]
    assert [m.to for m in mailoutbox] == [["ana@example.org"]]  # one confirmation, not two


def test_the_same_key_from_another_address_is_another_key(tiny_city, client):
    client.post(
        DRAFT, draft(tiny_city, name="Ana", email="ana@example.org"), HTTP_IDEMPOTENCY_KEY=KEY
    )
    client.post(
        DRAFT, draft(tiny_city, name="Bo", email="bo@example.org"), HTTP_IDEMPOTENCY_KEY=KEY
    )

    assert Report.objects.count() == 2
    # Kept under a digest of each address: no address in the table of kept answers.
    scopes = list(IdempotencyKey.objects.values_list("scope", flat=True))
    assert len(set(scopes)) == 2 and not any("@" in scope for scope in scopes)


def test_a_draft_near_an_open_report_is_filed_as_written(tiny_city, client):
    factories.report(tiny_city.pothole, 10.0501, 1.0501, title="Old hole")  # ~15 m away
    client.force_login(factories.UserFactory.create())

    response = client.post(DRAFT, draft(tiny_city), HTTP_IDEMPOTENCY_KEY=KEY)

    assert response.status_code == 201
    assert Report.objects.count() == 2


def test_a_refused_draft_says_why_keeps_nothing_and_can_be_sent_again_corrected(tiny_city, client):
    client.force_login(factories.UserFactory.create())

    refused = client.post(DRAFT, draft(tiny_city, title=""), HTTP_IDEMPOTENCY_KEY=KEY)
    corrected = client.post(DRAFT, draft(tiny_city), HTTP_IDEMPOTENCY_KEY=KEY)

    assert refused.status_code == 400
    assert any(e.startswith("Title:") for e in refused.json()["errors"])
    assert corrected.status_code == 201 and Report.objects.count() == 1


@pytest.mark.parametrize(
    ("where", "reason"),
    [((50.0, 1.0), "covers"), ((None, None), "position")],
)
def test_a_draft_outside_the_area_or_without_a_position_is_refused(
    tiny_city, client, where, reason
):
    data = draft(tiny_city, name="Ana", email="ana@example.org")
    data["latitude"], data["longitude"] = where
    if where[0] is None:
        del data["latitude"], data["longitude"]

    response = client.post(DRAFT, data, HTTP_IDEMPOTENCY_KEY=KEY)

    assert response.status_code == 400 and reason in " ".join(response.json()["errors"])
    assert not Report.objects.exists()


def test_a_draft_without_a_key_or_with_a_bad_one_is_refused(tiny_city, client):
    client.force_login(factories.UserFactory.create())

    without = client.post(DRAFT, draft(tiny_city))
    bad = client.post(DRAFT, draft(tiny_city), HTTP_IDEMPOTENCY_KEY="no spaces allowed")

    assert without.status_code == 400 and bad.status_code == 400
    assert bad.json()["code"] == "invalid_idempotency_key"
    assert not Report.objects.exists()


def test_the_same_key_for_another_draft_is_refused(tiny_city, client):
    client.force_login(factories.UserFactory.create())
    client.post(DRAFT, draft(tiny_city), HTTP_IDEMPOTENCY_KEY=KEY)

    other = client.post(DRAFT, draft(tiny_city, title="Another hole"), HTTP_IDEMPOTENCY_KEY=KEY)

    assert other.status_code == 422 and Report.objects.count() == 1


def test_sending_drafts_needs_the_csrf_token(tiny_city, db):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(factories.UserFactory.create())

    response = browser.post(DRAFT, draft(tiny_city), HTTP_IDEMPOTENCY_KEY=KEY)

    assert response.status_code == 403 and not Report.objects.exists()
