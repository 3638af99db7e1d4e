"""Identity providers in the console: added through the API's request and the sso services, the
provider's discovery document fetched and checked when saved; only System administrators see
the page, and the server refuses anyone else."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sso.models import IdentityProvider
from tests.conftest import free_port
from tests.frontend.pages import field_error, has_button

pytestmark = pytest.mark.django_db


class DiscoveryDocument(BaseHTTPRequestHandler):
    """An OpenID provider's discovery document, served over real HTTP."""

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_port}"
        body = json.dumps({"issuer": base, "authorization_endpoint": f"{base}/auth", "token_endpoint": f"{base}/token",
                           "userinfo_endpoint": f"{base}/me", "jwks_uri": f"{base}/jwks",
                           "id_token_signing_alg_values_supported": ["RS256"]}).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def provider_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), DiscoveryDocument)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/openid-configuration"
    server.shutdown()
    server.server_close()


def oidc_form(url: str, **extra) -> dict:
    return {"type": "oidc", "name": "Company login", "oidcData.discoverDocumentUrl": url,
            "oidcData.clientId": "tessera", "oidcData.clientSecret": "s3cret", "oidcData.scopes": "openid email",
            **extra}  # fmt: skip


def test_an_administrator_adds_an_openid_provider_and_sees_its_redirect_address(admin, provider_url):
    added = admin.post("/identity-providers/", oidc_form(provider_url))

    assert added.status_code == 302
    provider = IdentityProvider.objects.get()
    assert (provider.client_id, provider.scopes, provider.oidc_metadata["issuer"]) == (
        "tessera", ["openid", "email"], provider_url.split("/.well-known")[0],
    )  # fmt: skip
    page = admin.get("/identity-providers/").content.decode()
    assert f"/sso/oidc/{provider.alias}/callback/" in page and "s3cret" not in page


def test_a_provider_that_cannot_be_reached_is_refused_next_to_its_address(admin):
    unreachable = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"

    refused = admin.post("/identity-providers/", oidc_form(unreachable))

    assert refused.status_code == 400
    assert "could not read the discovery document" in field_error(refused, "oidcData.discoverDocumentUrl")
    assert "required" in field_error(admin.post("/identity-providers/", oidc_form(unreachable, **{
        "oidcData.clientId": ""})), "oidcData.clientId")  # fmt: skip
    assert "openid" in field_error(
        admin.post("/identity-providers/", oidc_form(unreachable, **{"oidcData.scopes": "email"})), "oidcData.scopes"
    )
    assert not IdentityProvider.objects.exists()


def test_only_those_who_hold_the_security_settings_see_the_page(admin, viewer, provider_url):
    assert has_button(admin.get("/identity-providers/"), "Add provider")
    assert viewer.get("/identity-providers/").status_code == 403
    assert viewer.post("/identity-providers/", oidc_form(provider_url)).status_code == 403
    assert not IdentityProvider.objects.exists()
    assert "Identity providers" not in viewer.get("/overview/").content.decode()
