"""Security headers on every response, and production settings that pass `check --deploy`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OASIS_", "DJANGO_", "SECURE_"))}
    env.pop("EMAIL_BACKEND", None)
    return {
        **env,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "help.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://help.example.com",
        # Settings only: nothing here connects to it.
        "DATABASE_URL": "postgres://oasis:unused@127.0.0.1:1/oasis",
        **extra,
    }


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_it_passes_the_deploy_checks_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_fails_the_deploy_checks_when_https_is_switched_off():
    env = production_env(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0", SESSION_COOKIE_SECURE="false")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012"):
        assert check in result.stderr


def test_it_turns_on_https_hsts_and_secure_cookies_in_production():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER]))"
    )
    env = {
        **production_env(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https"),
        "DJANGO_SETTINGS_MODULE": "oasis.settings",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, 31536000, True, True, True, ["HTTP_X_FORWARDED_PROTO", "https"]]


@pytest.mark.parametrize("url", ["/accounts/login/", "/signup/", "/help/acme/", "/api/v1/tickets/"])
def test_it_sends_a_strict_content_security_policy(client, workspace, url):
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_keeps_the_widget_api_open_to_merchant_pages(client, workspace):
    response = client.options(f"/chat/api/{workspace.slug}/sessions/", HTTP_ORIGIN="https://shop.example")
    assert response["Access-Control-Allow-Origin"] == "*"
