"""SAML 2.0 sign-in and single logout, against the real SimpleSAMLphp; the broken responses are
real ones changed by the ForgedIdpFake."""

from urllib.parse import urlencode, urlparse

import pytest
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from accounts.models import AccessRule
from sso.models import ExternalIdentity, SeenAssertion
from tests.sso.browser import with_query
from tests.sso.conftest import SAML_ALIAS, SAML_SHA1_ALIAS, assert_refused, create_saml_idp, signed_in_as
from tests.sso.forged_saml import NS, ForgedIdpFake, PostedResponse
from tests.sso.identity_providers import self_signed

pytestmark = pytest.mark.e2e

VIEWER = 9
ALICE = {
    "password": "alice-password",
    "attributes": {"uid": ["alice"], "mail": ["alice@example.org"], "groups": ["researchers", "gpu-users"]},
}


@pytest.fixture
def users(saml_idp):
    saml_idp.set_users({"alice": ALICE})


def provider_login_page(browser, live, button: str = "SimpleSAMLphp", next_url: str = ""):
    page = browser.get(f"{live.url}/login/" + (f"?{urlencode({'next': next_url})}" if next_url else ""))
    return browser.get(browser.link(page, f"Sign in with {button}"))


def response_for(browser, login_page, user: str = "alice", password: str = "alice-password") -> PostedResponse:
    """Sign in at SimpleSAMLphp; returns what its page would post to Tessera, without posting it."""
    posting_page = browser.submit(login_page, username=user, password=password)
    action, fields = browser.form(posting_page)
    assert "SAMLResponse" in fields, posting_page.text[:2000]
    return PostedResponse(action, fields["SAMLResponse"], fields.get("RelayState", ""))


def post(browser, posted: PostedResponse, xml: bytes | None = None, relay_state: str | None = None):
    return browser.post(posted.acs, posted.form(xml, relay_state))


def test_sign_in_creates_the_user_with_the_groups_of_the_assertion(live_server_process, saml_idp,
                                                                   saml_idp_in_tessera, users, browser):  # fmt: skip
    live = live_server_process
    AccessRule.objects.create(subject_type="group", subject_id="researchers", role_id=VIEWER,
                              scope_type="tenant", scope_id="1")  # fmt: skip
    posted = response_for(browser, provider_login_page(browser, live, next_url="/projects/"))
    assert posted.acs == f"{live.url}/sso/saml/{SAML_ALIAS}/acs/"

    landed = post(browser, posted)

    assert landed.status_code == 200 and urlparse(str(landed.url)).path == "/projects/"
    me = browser.get(f"{live.url}/api/v1/me").json()
    assert me["name"] == "alice@example.org"
    assert sorted(me["groups"]) == ["gpu-users", "researchers"]
    assert [rule["roleName"] for rule in me["accessRules"]] == ["Viewer"]
    identity = ExternalIdentity.objects.get()
    assert (identity.provider.alias, identity.subject) == (SAML_ALIAS, "alice")
    assert SeenAssertion.objects.count() == 1


@pytest.fixture
def forger(saml_idp) -> ForgedIdpFake:
    return ForgedIdpFake(saml_idp.key_pem, saml_idp.certificate_pem)


@pytest.fixture
def real_response(live_server_process, saml_idp, saml_idp_in_tessera, users, browser) -> PostedResponse:
    """A real response of SimpleSAMLphp to a request of Tessera's, not yet posted."""
    return response_for(browser, provider_login_page(browser, live_server_process))


def idp_initiated_response(browser, saml_idp, live, alias: str, relay_state: str = "") -> PostedResponse:
    """A response SimpleSAMLphp sends on its own (IdP-initiated), to no request of Tessera's."""
    query = {"spentityid": f"{live.url}/sso/saml/{alias}/metadata/"} | (
        {"RelayState": relay_state} if relay_state else {}
    )
    login_page = browser.get(f"{saml_idp.base_url}/saml2/idp/SSOService.php?{urlencode(query)}")
    return response_for(browser, login_page)


def test_a_response_without_any_signature_is_refused(live_server_process, real_response, forger, browser):
    root = forger.strip_signatures(forger.parse(real_response.xml))

    page = post(browser, real_response, ForgedIdpFake.tostring(root))

    assert_refused(page, browser, live_server_process, "not signed")


def test_a_signed_message_whose_assertion_signature_was_stripped_is_refused(live_server_process, real_response,
                                                                            forger, browser):  # fmt: skip
    root = forger.parse(real_response.xml)
    forger.assertion(root).remove(forger.assertion(root).find("ds:Signature", NS))
    signed_message_only = forger.sign_message_only(root)

    page = post(browser, real_response, signed_message_only)

    assert_refused(page, browser, live_server_process, "The Assertion of the Response is not signed")


def test_a_response_altered_after_signing_is_refused(live_server_process, real_response, forger, browser):
    root = forger.parse(real_response.xml)
    forger.set_all(root, ".//saml:Attribute[@Name='groups']/saml:AttributeValue", None, "admins")

    page = post(browser, real_response, ForgedIdpFake.tostring(root))

    assert_refused(page, browser, live_server_process, "Signature validation failed")


def test_a_response_signed_by_another_key_is_refused(live_server_process, real_response, forger, browser):
    key, certificate = self_signed("an attacker")
    root = forger.parse(real_response.xml)
    forger.set_all(root, ".//saml:NameID", None, "admin")

    page = post(browser, real_response, forger.sign(root, key, certificate))

    assert_refused(page, browser, live_server_process, "Signature validation failed")


@pytest.mark.parametrize(
    "wrap", ["wrap_twin_first", "wrap_original_in_extensions", "wrap_original_in_evil_advice", "wrap_signature_only"]
)
def test_signature_wrapping_is_refused(live_server_process, real_response, browser, wrap):
    wrapped = getattr(ForgedIdpFake, wrap)(real_response.xml, subject="admin")

    page = post(browser, real_response, wrapped)

    assert_refused(page, browser, live_server_process)


def test_a_response_posted_again_is_refused(live_server_process, real_response, browser):
    live = live_server_process
    assert post(browser, real_response).status_code == 200
    assert signed_in_as(browser, live) == "alice@example.org"
    browser.client.cookies.clear()  # someone else, who got hold of the posted form

    page = post(browser, real_response)

    assert_refused(page, browser, live, "answers no request", sessions_before=1, identities_before=1)


def test_an_unsolicited_response_posted_again_is_refused_by_the_replay_cache(live_server_process, saml_idp, admin_api,
                                                                             users, browser):  # fmt: skip
    live = live_server_process
    create_saml_idp(admin_api, saml_idp, "SimpleSAMLphp", allowUnsolicited=True)
    posted = idp_initiated_response(browser, saml_idp, live, SAML_ALIAS)
    assert post(browser, posted).status_code == 200
    assert signed_in_as(browser, live) == "alice@example.org"
    browser.client.cookies.clear()

    page = post(browser, posted)

    assert_refused(page, browser, live, "used already (replay)", sessions_before=1, identities_before=1)


def test_an_unsolicited_response_is_refused_unless_allowed(live_server_process, saml_idp, saml_idp_in_tessera, users,
                                                          browser):  # fmt: skip
    posted = idp_initiated_response(browser, saml_idp, live_server_process, SAML_ALIAS)

    page = post(browser, posted)

    assert_refused(page, browser, live_server_process, "Unsolicited responses are not accepted")


def test_an_allowed_unsolicited_response_goes_only_to_our_own_pages(live_server_process, saml_idp, admin_api, users,
                                                                    browser):  # fmt: skip
    live = live_server_process
    create_saml_idp(admin_api, saml_idp, "SimpleSAMLphp", allowUnsolicited=True)
    posted = idp_initiated_response(browser, saml_idp, live, SAML_ALIAS, relay_state="https://evil.example/")
    assert posted.relay_state == "https://evil.example/"

    landed = browser.post(posted.acs, posted.form(), follow=False)

    assert landed.status_code == 302 and landed.headers["location"] == "/workloads/"
    assert signed_in_as(browser, live) == "alice@example.org"


def test_a_response_to_a_request_tessera_never_sent_is_refused(live_server_process, real_response, forger, browser):
    root = forger.parse(real_response.xml)
    forger.set_all(root, ".", "InResponseTo", "_a-request-nobody-sent")
    forger.set_all(root, ".//saml:SubjectConfirmationData", "InResponseTo", "_a-request-nobody-sent")

    page = post(browser, real_response, forger.sign(root))

    assert_refused(page, browser, live_server_process, "answers no request")


# Responses signed with the provider's own key (as a broken or misconfigured provider would send
# them): only Tessera's checks stand between them and a session.
def wrong_audience(forger, root):
    forger.set_all(root, ".//saml:Audience", None, "https://another-service.example/")


def no_audience(forger, root):
    forger.remove_all(root, ".//saml:AudienceRestriction")


def wrong_destination(forger, root):
    forger.set_all(root, ".", "Destination", "https://another-service.example/acs")


def no_destination(forger, root):
    del root.attrib["Destination"]


def expired(forger, root):
    for path in (".//saml:Conditions", ".//saml:SubjectConfirmationData"):
        forger.set_all(root, path, "NotOnOrAfter", "2020-01-01T00:00:00Z")


def wrong_issuer(forger, root):
    forger.set_all(root, ".//saml:Issuer", None, "https://evil.example/idp")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (wrong_audience, "is not a valid audience"),
        (no_audience, "not meant for this service (Audience)"),
        (wrong_destination, "The response was received at"),
        (no_destination, "not addressed to this service (Destination)"),
        (expired, "expired"),
        (wrong_issuer, "Invalid issuer"),
    ],
)
def test_a_validly_signed_response_that_breaks_a_rule_is_refused(live_server_process, real_response, forger, browser,
                                                                 change, reason):  # fmt: skip
    root = forger.parse(real_response.xml)
    change(forger, root)

    page = post(browser, real_response, forger.sign(root))

    assert_refused(page, browser, live_server_process, reason)


def test_the_forger_signs_responses_that_tessera_accepts_when_nothing_is_changed(live_server_process, real_response,
                                                                                 forger, browser):  # fmt: skip
    page = post(browser, real_response, forger.sign(forger.parse(real_response.xml)))

    assert page.status_code == 200
    assert signed_in_as(browser, live_server_process) == "alice@example.org"


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE samlp:Response [<!ENTITY name "admin">]>',
        '<!DOCTYPE samlp:Response [<!ENTITY name SYSTEM "file:///etc/passwd">]>',
    ],
)
def test_a_response_with_a_dtd_or_an_external_entity_is_refused(live_server_process, real_response, browser, doctype):
    xml = real_response.xml.decode()
    start = xml.index("<samlp:Response")
    with_dtd = xml[:start] + doctype + xml[start:]

    page = post(browser, real_response, with_dtd.encode())

    assert_refused(page, browser, live_server_process, "cannot be read")


def test_a_response_signed_with_sha1_is_refused(live_server_process, saml_idp, admin_api, users, browser):
    live = live_server_process
    alias = create_saml_idp(admin_api, saml_idp, "Legacy SHA1")
    assert alias == SAML_SHA1_ALIAS
    posted = response_for(browser, provider_login_page(browser, live, "Legacy SHA1"))
    assert C.RSA_SHA1.encode() in posted.xml  # the real provider signed with SHA-1

    page = post(browser, posted)

    assert_refused(page, browser, live, "Deprecated signature algorithm")


def test_single_logout_ends_the_session_here_and_at_the_provider(live_server_process, saml_idp, saml_idp_in_tessera,
                                                                 users, browser):  # fmt: skip
    live = live_server_process
    post(browser, response_for(browser, provider_login_page(browser, live)))
    assert signed_in_as(browser, live) == "alice@example.org"

    csrf = browser.client.cookies.get("csrftoken", domain="127.0.0.1")
    back = browser.client.post(f"{live.url}/sso/logout/", headers={"X-CSRFToken": csrf}, follow_redirects=True)

    assert urlparse(str(back.url)).path == "/login/", [str(r.url) for r in back.history]
    assert any("/saml2/idp/SingleLogoutService.php" in str(r.url) for r in back.history)
    assert signed_in_as(browser, live) is None
    again = provider_login_page(browser, live)
    assert 'name="password"' in again.text  # the provider asks for the password again


def init_logout_url(saml_idp) -> str:
    """SimpleSAMLphp's own page that logs the user out everywhere (it sends a page of its own
    back at the end: it allows no other site there)."""
    return f"{saml_idp.base_url}/saml2/idp/initSLO.php?{urlencode({'RelayState': f'{saml_idp.base_url}/'})}"


def test_single_logout_started_by_the_provider_ends_the_session_here(live_server_process, saml_idp,
                                                                     saml_idp_in_tessera, users, browser):  # fmt: skip
    live = live_server_process
    post(browser, response_for(browser, provider_login_page(browser, live)))
    assert signed_in_as(browser, live) == "alice@example.org"

    done = browser.get(init_logout_url(saml_idp))

    assert any(f"/sso/saml/{SAML_ALIAS}/sls/" in str(r.url) for r in done.history), [str(r.url) for r in done.history]
    assert signed_in_as(browser, live) is None


def test_an_unsigned_logout_request_is_refused_and_the_session_stays(live_server_process, saml_idp,
                                                                     saml_idp_in_tessera, users, browser):  # fmt: skip
    live = live_server_process
    post(browser, response_for(browser, provider_login_page(browser, live)))
    request_url = browser.redirects_until(init_logout_url(saml_idp), f"{live.url}/sso/saml/")
    unsigned = with_query(request_url, Signature=None, SigAlg=None)

    page = browser.get(unsigned)

    assert page.status_code == 400 and "The logout message is not signed" in page.text
    assert signed_in_as(browser, live) == "alice@example.org"
