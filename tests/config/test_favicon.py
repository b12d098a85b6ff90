"""The site's icon: /favicon.ico is served (browsers ask for it on any site), and pages name it."""

from __future__ import annotations

import io

from PIL import Image


def test_favicon_ico_is_served_as_an_icon(db, client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age=86400" in response["Cache-Control"]
    icon = Image.open(io.BytesIO(response.content))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])


def test_pages_name_the_ico_and_the_svg_icon(db, client):
    html = client.get("/privacy/").content.decode()

    assert '<link rel="icon" href="/favicon.ico" sizes="48x48">' in html
    assert 'type="image/svg+xml"' in html  # static/icons/icon.svg, the same pin
