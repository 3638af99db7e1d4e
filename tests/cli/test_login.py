"""Signing in with ``tessera login``: a password, an application's secret, or a browser; the
config file keeps a token and never a password; failures say what went wrong and exit 3."""

import html
import re
import stat
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from accounts.services import tokens
from tests.accounts.conftest import grant
from tests.conftest import ADMIN_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_password_login_keeps_the_server_and_a_token_in_a_private_file_without_the_password(tessera, admin_user):
    done = tessera("login", "user", "--server", tessera.server.url, "-u", "admin", "--password-stdin",
                   input=ADMIN_PASSWORD)  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert f"Signed in to {tessera.server.url} as admin" in done.stderr
    assert stat.S_IMODE(tessera.config_path.stat().st_mode) == 0o600
    assert ADMIN_PASSWORD not in tessera.config_path.read_text()
    config = tessera.config()
    assert config["server"] == tessera.server.url and config["subject"] == "admin"
    me = httpx.get(f"{tessera.server.url}/api/v1/me", headers={"Authorization": f"Bearer {config['token']}"})
    assert me.json()["name"] == "admin"
    whoami = tessera("whoami", "-o", "json")
    assert whoami.returncode == 0 and '"name": "admin"' in whoami.stdout


def test_a_wrong_password_exits_3_with_the_servers_reason_and_stores_nothing(tessera, admin_user):
    done = tessera("login", "user", "--server", tessera.server.url, "-u", "admin", "-p", "not-the-password")

    assert done.returncode == 3
    assert "Wrong username or password." in done.stderr
    assert not tessera.config_path.exists()


def test_an_application_signs_in_with_its_client_id_and_secret(tessera, http, cluster):
    _, _, project = cluster
    app = http.post("/api/v1/apps", json={"name": "ci-bot"}).json()
    grant("ci-bot", 6, "project", project.pk, subject_type="app")

    done = tessera("login", "application", "--server", tessera.server.url, "--client-id", "ci-bot",
                   "--client-secret-stdin", input=app["secret"])  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert app["secret"] not in tessera.config_path.read_text()
    assert tessera.config()["subjectType"] == "app"
    projects = tessera("project", "list", "-o", "json")
    assert projects.returncode == 0, projects.stderr
    assert '"name": "default"' in projects.stdout


def test_a_wrong_application_secret_exits_3(tessera, http):
    http.post("/api/v1/apps", json={"name": "ci-bot"})

    done = tessera("login", "application", "--server", tessera.server.url, "--client-id", "ci-bot",
                   "--client-secret", "wrong")  # fmt: skip

    assert done.returncode == 3
    assert "Unknown application or wrong secret." in done.stderr


def _form_fields(page: str) -> dict[str, str]:
    """The named inputs of the page's last form (the page's header has a sign-out form first)."""
    form = page[page.rindex("<form") :]
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    }


def test_browser_login_signs_in_through_the_sign_in_page_and_hands_the_cli_a_token(tessera, admin_user):
    cli, url = tessera.browser_login()

    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        sign_in = browser.get(url)  # not signed in yet: the sign-in page, which comes back here
        assert urlsplit(str(sign_in.url)).path == "/login/"
        fields = _form_fields(sign_in.text)
        confirm = browser.post(str(sign_in.url), data={**fields, "username": "admin", "password": ADMIN_PASSWORD})
        assert "Sign in the command-line tool" in confirm.text
        done = browser.post(str(confirm.url), data={**_form_fields(confirm.text), "allow": ""})

    assert done.status_code == 200 and "Signed in" in done.text  # the CLI's own loopback page
    callback = urlsplit(str(done.url))
    assert callback.hostname == "127.0.0.1" and set(parse_qs(callback.query)) == {"code", "state"}
    assert cli.wait(timeout=30) == 0, cli.stderr.read()
    token = tessera.config()["token"]
    assert token not in str(done.url)  # the browser saw a one-time code, never the token
    assert tessera("whoami", "-o", "json").returncode == 0
    # The code alone is worth nothing: the exchange also needs the verifier only the CLI held.
    query = {k: v[0] for k, v in parse_qs(callback.query).items()}
    replay = httpx.post(f"{tessera.server.url}/api/v1/cli/token",
                        json={"code": query["code"], "state": query["state"], "codeVerifier": "x" * 64})  # fmt: skip
    assert replay.status_code == 400


def test_browser_login_by_single_sign_on_with_an_openid_provider(tessera, oidc_op, oidc_idp, browser):
    oidc_op.set_account("alice", "alice-password", email="alice@example.org", email_verified=True)
    cli, url = tessera.browser_login()

    sign_in = browser.get(url)  # Tessera's sign-in page, with the provider's button
    provider = browser.get(browser.link(sign_in, "Sign in with Test OP"))
    confirm = browser.submit(provider, username="alice", password="alice-password")
    assert "Sign in the command-line tool" in confirm.text, confirm.text[:2000]
    done = browser.post(str(confirm.url), {**_form_fields(confirm.text), "allow": ""})

    assert done.status_code == 200 and "Signed in" in done.text
    assert cli.wait(timeout=30) == 0
    whoami = tessera("whoami", "-o", "json")
    assert whoami.returncode == 0 and '"name": "alice@example.org"' in whoami.stdout  # SSO users go by email


def test_cancelling_the_browser_login_exits_3(tessera, admin_user, client):
    cli, url = tessera.browser_login()
    client.force_login(admin_user)
    confirm = client.get(url.removeprefix(tessera.server.url))
    fields = _form_fields(confirm.content.decode())

    answer = httpx.get(client.post("/cli/login", {**fields, "deny": ""})["Location"])

    assert "Sign-in refused" in answer.text
    assert cli.wait(timeout=30) == 3
    assert "access_denied" in cli.stderr.read()
    assert not tessera.config_path.exists()


def test_the_browser_login_page_sends_codes_only_to_this_machines_loopback(client, admin_user):
    client.force_login(admin_user)
    asked = {"state": "s" * 32, "code_challenge": "c" * 43, "code_challenge_method": "S256"}

    for elsewhere in ("http://attacker.example:8080/cb", "https://127.0.0.1:9/cb", "http://127.0.0.1/cb",
                      "http://localhost:8080/cb"):  # fmt: skip
        refused = client.post("/cli/login", {**asked, "redirect_uri": elsewhere, "allow": ""})
        assert refused.status_code == 400, elsewhere
        assert "redirect_uri" in refused.content.decode()

    allowed = client.post("/cli/login", {**asked, "redirect_uri": "http://127.0.0.1:4321/callback", "allow": ""})
    assert allowed.status_code == 302 and allowed["Location"].startswith("http://127.0.0.1:4321/callback?code=")


def test_an_expired_token_exits_3_and_says_to_sign_in_again(tessera, admin_user, settings):
    settings.TESSERA_TOKEN_LIFETIME = -60  # issued already expired
    expired = tokens.issue(user=admin_user)
    tessera.config_path.parent.mkdir(parents=True)
    tessera.config_path.write_text(f"server: {tessera.server.url}\ntoken: {expired}\n")

    done = tessera("project", "list")

    assert done.returncode == 3
    assert "Invalid, expired or revoked token." in done.stderr and "tessera login" in done.stderr


def test_a_token_known_to_have_expired_is_not_even_sent(signed_in):
    config = signed_in.config()
    config["tokenExpiresAt"] = "2020-01-01T00:00:00+00:00"
    signed_in.config_path.write_text(yaml.safe_dump(config))

    done = signed_in("project", "list")

    assert done.returncode == 3
    assert "Your sign-in expired at 2020-01-01T00:00:00+00:00: run `tessera login`." in done.stderr


def test_without_a_login_commands_exit_3(tessera):
    done = tessera("training", "list")

    assert done.returncode == 3
    assert "Not signed in: run `tessera login`." in done.stderr


def test_logout_revokes_the_token_and_forgets_it(signed_in):
    token = signed_in.config()["token"]

    done = signed_in("logout")

    assert done.returncode == 0
    assert "token" not in signed_in.config()
    refused = httpx.get(f"{signed_in.server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
