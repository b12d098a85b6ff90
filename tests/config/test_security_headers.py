"""Every answer carries the security headers; the Content-Security-Policy follows the settings
that name other hosts (the tile server, a media CDN). That pages really work under the policy is
checked in Chromium: tests/browser/test_csp.py."""

from __future__ import annotations

import json

import pytest

from tests.config.test_settings import _manage

PAGES = ["/", "/reports/new/", "/alerts/", "/accounts/login/", "/api/docs/", "/admin/login/"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_the_policy_and_the_other_security_headers(client, db, path):
    response = client.get(path)

    assert response.status_code == 200, path
    directives = [d.partition(" ") for d in response["Content-Security-Policy"].split("; ")]
    policy = {name: sources for name, _, sources in directives}
    assert policy["default-src"] == "'self'"
    assert policy["script-src"].startswith("'self'") and "unsafe" not in policy["script-src"]
    assert policy["style-src"] == "'self'"
    assert (policy["object-src"], policy["frame-ancestors"]) == ("'none'", "'none'")
    assert policy["img-src"].split()[:2] == ["'self'", "data:"]
    assert response["Permissions-Policy"] == (
        "camera=(), geolocation=(self), microphone=(), payment=(), usb=()"
    )
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_a_page_with_an_inline_script_gets_that_requests_nonce(client, db):
    first, second = client.get("/"), client.get("/")

    nonces = []
    for response in (first, second):
        nonce = response["Content-Security-Policy"].split("'nonce-", 1)[1].split("'", 1)[0]
        assert f'nonce="{nonce}"' in response.content.decode()
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_the_tile_server_and_a_media_host_from_the_environment_may_serve_images():
    env = {
        "DEBUG": "true",
        "MAP_TILE_URL": "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        "MEDIA_URL": "https://cdn.example.org/media/",
    }
    code = "from django.conf import settings; import json; print(json.dumps("
    code += "settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']))"

    result = _manage("shell", "-c", code, env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "'self'",
        "data:",
        "https://*.tiles.example.org",
        "https://cdn.example.org",
    ]
