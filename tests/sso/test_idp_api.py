"""``/api/v1/idps``: System administrators configure identity providers; bad input is a 400 that
names the field, and nothing is stored."""

from urllib.parse import parse_qsl, urlparse

import pytest

from sso.models import IdentityProvider
from tests.sso.identity_providers import pem_body, self_signed

IDP_ENTITY = "https://idp.example.org/metadata"
NOWHERE = "http://127.0.0.1:1/discovery"  # nothing listens on port 1


def saml_metadata(entity_id: str = IDP_ENTITY, doctype: str = "") -> str:
    certificate = pem_body(self_signed("idp.example.org")[1])
    return f"""{doctype}<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
        xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">
      <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
        <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
          <ds:X509Certificate>{certificate}</ds:X509Certificate>
        </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
        <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
            Location="https://idp.example.org/slo"/>
        <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
            Location="https://idp.example.org/sso"/>
      </md:IDPSSODescriptor>
    </md:EntityDescriptor>"""


def oidc_body(forged_op, **changes) -> dict:
    data = {"clientId": forged_op.client_id, "clientSecret": forged_op.client_secret,
            "discoverDocumentUrl": forged_op.discovery_url}  # fmt: skip
    return {"type": "oidc", "name": "Company SSO", "oidcData": data | changes}


def test_an_administrator_creates_reads_changes_and_deletes_an_oidc_provider(api, forged_op):
    created = api.post("/api/v1/idps", oidc_body(forged_op), content_type="application/json")
    assert created.status_code == 201, created.content
    alias = created.json()["alias"]
    assert alias == "company-sso"

    shown = api.get(f"/api/v1/idps/{alias}").json()
    assert shown["type"] == "oidc" and shown["enabled"] is True
    assert shown["oidcData"]["issuer"] == forged_op.issuer
    assert shown["redirectUri"].endswith(f"/sso/oidc/{alias}/callback/")
    assert "clientSecret" not in shown["oidcData"]  # shown once: never
    assert [p["alias"] for p in api.get("/api/v1/idps").json()] == [alias]

    mappers = api.put(f"/api/v1/idps/{alias}/mappers", {"groups": "roles"}, content_type="application/json")
    assert mappers.json()["groups"] == "roles"
    disabled = api.put(f"/api/v1/idps/{alias}", oidc_body(forged_op) | {"enabled": False},
                       content_type="application/json")  # fmt: skip
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False

    assert api.delete(f"/api/v1/idps/{alias}").status_code == 204
    assert not IdentityProvider.objects.exists()


def test_a_saml_provider_is_read_from_its_metadata(api):
    body = {"type": "saml", "name": "Company SAML", "samlData": {"metadataXmlFile": saml_metadata()},
            "mappers": {"groups": "memberOf"}}  # fmt: skip
    created = api.post("/api/v1/idps", body, content_type="application/json")
    assert created.status_code == 201, created.content

    shown = api.get(f"/api/v1/idps/{created.json()['alias']}").json()
    assert shown["samlData"]["entityId"] == IDP_ENTITY
    assert shown["samlData"]["singleSignOnServiceUrl"] == "https://idp.example.org/sso"
    assert shown["samlData"]["allowUnsolicited"] is False
    assert shown["mappers"]["groups"] == "memberOf"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "ldap"}, "type"),
        ({"type": "oidc", "name": "x"}, "oidcData"),
        ({"type": "saml"}, "samlData"),
        ({"type": "oidc", "oidcData": {"clientId": "a", "clientSecret": "b"}}, "oidcData.discoverDocumentUrl"),
        ({"type": "oidc", "oidcData": {"clientId": "a", "clientSecret": "b", "discoverDocumentUrl": NOWHERE}},
         "oidcData.discoverDocumentUrl"),
        ({"type": "oidc", "oidcData": {"clientId": 5, "discoverDocumentUrl": NOWHERE}}, "oidcData.clientId"),
        ({"type": "oidc", "colour": "red"}, "colour"),
        ({"type": "saml", "samlData": {"metadataXmlFile": "<not-xml"}}, "samlData.metadataXmlFile"),
        ({"type": "saml", "samlData": {"metadataXmlFile": saml_metadata(doctype='<!DOCTYPE x [<!ENTITY e "e">]>')}},
         "samlData.metadataXmlFile"),
        ({"type": "saml", "samlData": {"metadataXmlType": "url"}}, "samlData.metadataXmlUrl"),
        ({"type": "saml", "samlData": {"metadataXmlFile": saml_metadata(), "allowUnsolicited": "yes"}},
         "samlData.allowUnsolicited"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(api, body, field):
    response = api.post("/api/v1/idps", body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"{field}:") or f"; {field}:" in response.json()["message"]
    assert not IdentityProvider.objects.exists()


def test_the_oidc_scopes_must_ask_for_openid(api, forged_op):
    response = api.post("/api/v1/idps", oidc_body(forged_op, scopes=["email"]), content_type="application/json")

    assert response.status_code == 400
    assert "oidcData.scopes" in response.json()["message"]


def test_only_system_administrators_see_or_configure_providers(client, django_user_model, forged_op):
    from accounts.models import AccessRule

    editor = django_user_model.objects.create_user("editor", password="x" * 16)
    AccessRule.objects.create(subject_type="user", subject_id="editor", role_id=4, scope_type="tenant", scope_id="1")
    client.force_login(editor)

    assert client.get("/api/v1/idps").status_code == 403
    created = client.post("/api/v1/idps", oidc_body(forged_op), content_type="application/json")
    assert created.status_code == 403
    assert not IdentityProvider.objects.exists()


def test_anonymous_callers_are_asked_to_authenticate(client):
    assert client.get("/api/v1/idps").status_code == 401


def test_the_service_provider_metadata_says_where_responses_go_and_that_requests_are_signed(client, api):
    body = {"type": "saml", "name": "Company SAML", "samlData": {"metadataXmlFile": saml_metadata()}}
    alias = api.post("/api/v1/idps", body, content_type="application/json").json()["alias"]

    metadata = client.get(f"/sso/saml/{alias}/metadata/")

    assert metadata.status_code == 200
    text = metadata.content.decode()
    assert f'entityID="http://testserver/sso/saml/{alias}/metadata/"' in text
    assert f'Location="http://testserver/sso/saml/{alias}/acs/"' in text
    assert 'AuthnRequestsSigned="true"' in text and 'WantAssertionsSigned="true"' in text
    assert "X509Certificate" in text


def test_a_provider_whose_stored_configuration_is_broken_refuses_sign_in_without_a_server_error(client, api):
    body = {"type": "saml", "name": "Company SAML", "samlData": {"metadataXmlFile": saml_metadata()}}
    alias = api.post("/api/v1/idps", body, content_type="application/json").json()["alias"]
    IdentityProvider.objects.filter(alias=alias).update(sso_url="not a url")

    page = client.get(f"/sso/saml/{alias}/login/", HTTP_HOST="127.0.0.1")

    assert page.status_code == 503
    assert b"cannot be used" in page.content


def test_the_sign_in_page_offers_enabled_providers_only(client, api, admin_user, forged_op):
    alias = api.post("/api/v1/idps", oidc_body(forged_op), content_type="application/json").json()["alias"]
    client.logout()
    assert "Sign in with Company SSO" in client.get("/login/").content.decode()

    api.force_login(admin_user)
    api.put(f"/api/v1/idps/{alias}", oidc_body(forged_op) | {"enabled": False}, content_type="application/json")
    client.logout()

    assert "Sign in with Company SSO" not in client.get("/login/").content.decode()
    assert client.get(f"/sso/oidc/{alias}/login/").status_code == 404


def test_an_oidc_sign_in_asks_for_a_code_with_pkce_state_and_nonce(client, api, forged_op):
    alias = api.post("/api/v1/idps", oidc_body(forged_op), content_type="application/json").json()["alias"]

    start = client.get(f"/sso/oidc/{alias}/login/?next=/projects/")

    assert start.status_code == 302
    query = dict(parse_qsl(urlparse(start["Location"]).query))
    assert start["Location"].startswith(f"{forged_op.issuer}/authorize?")
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43 and len(query["state"]) >= 32 and len(query["nonce"]) >= 32


def test_a_browser_keeps_its_ten_latest_oidc_sign_ins_under_way(client, api, forged_op):
    from sso.services.oidc import MAX_PENDING, SESSION_KEY

    alias = api.post("/api/v1/idps", oidc_body(forged_op), content_type="application/json").json()["alias"]
    states = [
        dict(parse_qsl(urlparse(client.get(f"/sso/oidc/{alias}/login/")["Location"]).query))["state"]
        for _ in range(MAX_PENDING + 2)
    ]

    assert list(client.session[SESSION_KEY]) == states[2:]
