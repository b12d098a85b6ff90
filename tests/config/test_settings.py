"""Settings come from the environment; production settings pass Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

PRODUCTION = {
    "SECRET_KEY": "k8Qz-production-like-secret-key-with-plenty-of-entropy-9f3b2c1d0e",
    "FIELD_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1saWtlLWZpZWxkLWtleS0wMTIzNDU=",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "fixpoint.example.org",
    "DATABASE_URL": "postgres://fixpoint:secret@db.internal:5432/fixpoint",
    "CACHE_URL": "redis://redis.internal:6379/1",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "EMAIL_URL": "smtp+tls://fixpoint:secret@smtp.example.org:587",
    "USE_X_FORWARDED_PROTO": "true",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION and k not in ("SECURE_HTTPS", "STATIC_MANIFEST")
    }
    return subprocess.run(  # noqa: S603 (our own manage.py with fixed arguments)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_with_production_variables_prints_no_warning():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_without_secret_key_and_debug_off_start_up_fails_with_one_line():
    # Empty rather than absent: a developer's .env (made by `make run`) must not fill it in.
    env = {**PRODUCTION, "SECRET_KEY": ""}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Fixpoint: SECRET_KEY is not set. Set SECRET_KEY to a long random string "
        "(or DEBUG=true for local development)."
    ]


def test_without_field_encryption_keys_and_debug_off_start_up_fails_with_one_line():
    result = _manage("check", env={**PRODUCTION, "FIELD_ENCRYPTION_KEYS": ""})

    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Fixpoint: FIELD_ENCRYPTION_KEYS is not set.")


def test_a_field_encryption_key_that_is_not_a_fernet_key_stops_start_up_naming_it():
    keys = PRODUCTION["FIELD_ENCRYPTION_KEYS"] + ",not-a-key"

    result = _manage("check", env={**PRODUCTION, "FIELD_ENCRYPTION_KEYS": keys})

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Fixpoint: key 2 of FIELD_ENCRYPTION_KEYS is not a Fernet key "
        "(32 random bytes in URL-safe base64, 44 characters)."
    ]


def test_debug_is_off_unless_asked_for(settings):
    # The test run itself sets no DEBUG: what it gets is the default.
    assert "DEBUG" not in os.environ or os.environ["DEBUG"].lower() in ("", "0", "false")
    assert settings.DEBUG is False


def test_a_redis_cache_url_sets_the_key_prefix_version_and_timeout():
    # Several sites (or test processes) may share one Redis database, each under its own prefix.
    url = "redis://127.0.0.1:6379/3?key_prefix=fixpoint-a&version=2&timeout=60"
    shown = "from django.core.cache import cache; print(cache.make_key('k'), cache.default_timeout)"

    result = _manage("shell", "-v0", "-c", shown, env={**PRODUCTION, "CACHE_URL": url})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["fixpoint-a:2:k", "60"]
