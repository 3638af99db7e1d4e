"""Fixtures of the SSO tests: Tessera's live server, the real identity providers next to it, a
browser, and identity providers configured in Tessera through its API."""

from collections.abc import Iterator

import pytest

from accounts.models import AuditEvent, UserSession
from sso.models import ExternalIdentity
from tests.conftest import LiveServer
from tests.frontend.browser import chromium, open_browser  # noqa: F401  (a real Chromium, for test_browser)
from tests.sso.browser import Browser
from tests.sso.forged_oidc import ForgedOidcProviderFake
from tests.sso.identity_providers import OidcProvider, ServiceProvider, SimpleSamlPhp

pytestmark = pytest.mark.e2e

OIDC_ALIAS = "test-op"  # what Tessera makes of the name the tests give the provider
FORGED_ALIAS = "forged-op"
SAML_ALIAS = "simplesamlphp"
SAML_SHA1_ALIAS = "legacy-sha1"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"


@pytest.fixture(scope="session")
def oidc_op(live_server_process: LiveServer, tmp_path_factory) -> Iterator[OidcProvider]:
    redirect_uris = [f"{live_server_process.url}/sso/oidc/{OIDC_ALIAS}/callback/"]
    provider = OidcProvider.start(tmp_path_factory.mktemp("oidc-provider"), redirect_uris,
                                  [f"{live_server_process.url}/login/"])  # fmt: skip
    yield provider
    provider.proc.stop()


@pytest.fixture(scope="session")
def forged_op() -> Iterator[ForgedOidcProviderFake]:
    fake = ForgedOidcProviderFake().start()
    yield fake
    fake.stop()


def tessera_as_service_provider(live: LiveServer, alias: str, algorithm: str | None = None) -> ServiceProvider:
    from sso.services import sp_keys

    base = f"{live.url}/sso/saml/{alias}"
    sp = ServiceProvider(f"{base}/metadata/", f"{base}/acs/", f"{base}/sls/", sp_keys.key_and_certificate()[1])
    if algorithm:
        sp.signature_algorithm = algorithm
    return sp


@pytest.fixture(scope="session")
def saml_idp(live_server_process: LiveServer, tmp_path_factory) -> Iterator[SimpleSamlPhp]:
    sps = [
        tessera_as_service_provider(live_server_process, SAML_ALIAS),
        # The same provider signing with SHA-1, for a Tessera provider that must refuse it.
        tessera_as_service_provider(live_server_process, SAML_SHA1_ALIAS, RSA_SHA1),
    ]
    idp = SimpleSamlPhp.start(tmp_path_factory.mktemp("simplesamlphp"), sps)
    yield idp
    idp.proc.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


@pytest.fixture
def admin_api(transactional_db, api):
    """An administrator's API client whose writes the live server sees (committed)."""
    return api


def create_idp(admin_api, body: dict) -> str:
    response = admin_api.post("/api/v1/idps", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["alias"]


@pytest.fixture
def oidc_idp(admin_api, oidc_op: OidcProvider) -> str:
    return create_idp(admin_api, {
        "type": "oidc",
        "name": "Test OP",
        "oidcData": {"clientId": oidc_op.client_id, "clientSecret": oidc_op.client_secret,
                     "discoverDocumentUrl": oidc_op.discovery_url, "scopes": ["openid", "email", "profile", "groups"]},
        "mappers": {"groups": "groups", "email": "email"},
    })  # fmt: skip


@pytest.fixture
def forged_idp(admin_api, forged_op: ForgedOidcProviderFake) -> str:
    forged_op.defect = None
    return create_idp(admin_api, {
        "type": "oidc",
        "name": "Forged OP",
        "oidcData": {"clientId": forged_op.client_id, "clientSecret": forged_op.client_secret,
                     "discoverDocumentUrl": forged_op.discovery_url},
    })  # fmt: skip


def create_saml_idp(admin_api, saml_idp: SimpleSamlPhp, name: str, **saml_data) -> str:
    return create_idp(admin_api, {
        "type": "saml",
        "name": name,
        "samlData": {"metadataXmlUrl": saml_idp.metadata_url, **saml_data},
        "mappers": {"groups": "groups", "email": "mail"},
    })  # fmt: skip


@pytest.fixture
def saml_idp_in_tessera(admin_api, saml_idp: SimpleSamlPhp) -> str:
    alias = create_saml_idp(admin_api, saml_idp, "SimpleSAMLphp")
    assert alias == SAML_ALIAS
    return alias


def signed_in_as(browser: Browser, live: LiveServer) -> str | None:
    """Who Tessera takes this browser for, or None."""
    response = browser.get(f"{live.url}/api/v1/me")
    return response.json()["name"] if response.status_code == 200 else None


def assert_refused(page, browser: Browser, live: LiveServer, reason: str = "", sessions_before: int = 0,
                   identities_before: int = 0) -> None:  # fmt: skip
    """Refused, and nobody signed in: no new session (but the administrator's who configured the
    provider), no new identity."""
    assert page.status_code in (400, 403), page.text[:2000]
    assert "Sign-in refused" in page.text
    if reason:
        assert reason in page.text, page.text[:2000]
    assert signed_in_as(browser, live) is None
    assert UserSession.objects.exclude(user__username="admin").count() == sessions_before
    assert ExternalIdentity.objects.count() == identities_before
    assert AuditEvent.objects.filter(action="sign_in", object_type="identity_provider", outcome="failure").exists()
