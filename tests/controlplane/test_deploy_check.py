"""Production settings pass Django's deployment checks; the embedded default stays on plain http."""

import os
import secrets
import subprocess
import sys

from tests.conftest import REPO


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "TESSERA_HTTPS"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=clean | env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        SECRET_KEY=secrets.token_urlsafe(64), DEBUG="0", TESSERA_HTTPS="1", ALLOWED_HOSTS="tessera.example",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_https_the_default_keeps_cookies_usable_on_plain_http():
    result = manage(
        "shell", "-c", "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)"
    )
    assert result.stdout.split()[-2:] == ["False", "False"], result.stderr
    refused = manage("check", "--deploy", "--fail-level", "WARNING")
    assert refused.returncode != 0 and "security.W012" in refused.stderr + refused.stdout
