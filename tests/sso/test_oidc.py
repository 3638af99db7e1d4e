"""OpenID Connect sign-in, against the real oidc-provider and, for tokens no real provider would
mint, the ForgedOidcProviderFake."""

from urllib.parse import parse_qsl, urlencode, urlparse

import pytest

from accounts.models import AccessRule
from sso.models import ExternalIdentity
from tests.conftest import ADMIN_PASSWORD
from tests.sso.browser import with_query
from tests.sso.conftest import assert_refused, signed_in_as
from tests.sso.forged_oidc import DEFECTS

pytestmark = pytest.mark.e2e

VIEWER = 9  # accounts.roles: sees everything, changes nothing


def open_provider(browser, live, button: str, next_url: str = ""):
    """From Tessera's sign-in page, press the provider's button: lands on the provider's page."""
    page = browser.get(f"{live.url}/login/" + (f"?{urlencode({'next': next_url})}" if next_url else ""))
    assert page.status_code == 200
    return browser.get(browser.link(page, f"Sign in with {button}"))


def sign_in(browser, live, user: str, password: str, next_url: str = ""):
    provider_page = open_provider(browser, live, "Test OP", next_url)
    return browser.submit(provider_page, username=user, password=password)


def callback_url(browser, live, user: str, password: str) -> str:
    """Sign in at the provider, but stop at the redirect back to Tessera: returns that URL."""
    provider_page = open_provider(browser, live, "Test OP")
    action, values = browser.form(provider_page, username=user, password=password)
    first = browser.post(action, values, follow=False)
    return browser.redirects_until(first.headers["location"], f"{live.url}/sso/oidc/")


def visible_access_rules(browser, live) -> int:
    response = browser.get(f"{live.url}/api/v1/authorization/access-rules")
    assert response.status_code == 200
    return response.json()["totalRecords"]


def test_first_sign_in_creates_the_user_with_the_groups_whose_rules_give_access(
    live_server_process, oidc_op, oidc_idp, browser
):
    live = live_server_process
    oidc_op.set_account("alice", "alice-password", email="alice@example.org", email_verified=True,
                        groups=["researchers"], given_name="Alice")  # fmt: skip
    AccessRule.objects.create(subject_type="group", subject_id="researchers", role_id=VIEWER,
                              scope_type="tenant", scope_id="1")  # fmt: skip

    landed = sign_in(browser, live, "alice", "alice-password", next_url="/projects/")

    assert landed.status_code == 200 and urlparse(str(landed.url)).path == "/projects/"
    me = browser.get(f"{live.url}/api/v1/me").json()
    assert me["name"] == "alice@example.org"
    assert me["groups"] == ["researchers"]
    assert [rule["roleName"] for rule in me["accessRules"]] == ["Viewer"]
    assert visible_access_rules(browser, live) == 1  # the Viewer role lets them see the rules
    identity = ExternalIdentity.objects.get()
    assert (identity.provider.alias, identity.subject) == (oidc_idp, "alice")
    assert not identity.user.has_usable_password()


def test_groups_follow_the_provider_on_every_sign_in_and_access_with_them(live_server_process, oidc_op, oidc_idp,
                                                                         browser):  # fmt: skip
    live = live_server_process
    AccessRule.objects.create(subject_type="group", subject_id="researchers", role_id=VIEWER,
                              scope_type="tenant", scope_id="1")  # fmt: skip
    oidc_op.set_account("carol", "carol-password", email="carol@example.org", email_verified=True,
                        groups=["researchers"])  # fmt: skip
    sign_in(browser, live, "carol", "carol-password")
    assert visible_access_rules(browser, live) == 1

    oidc_op.set_account("carol", "carol-password", email="carol@example.org", email_verified=True, groups=["ops"])
    browser.client.cookies.clear()
    sign_in(browser, live, "carol", "carol-password")

    assert browser.get(f"{live.url}/api/v1/me").json()["groups"] == ["ops"]
    assert visible_access_rules(browser, live) == 0
    assert ExternalIdentity.objects.count() == 1


def test_a_verified_email_links_to_the_existing_account(live_server_process, oidc_op, oidc_idp, browser,
                                                        django_user_model):  # fmt: skip
    live = live_server_process
    dave = django_user_model.objects.create_user("dave", email="dave@example.org")
    oidc_op.set_account("dave-at-idp", "dave-password", email="dave@example.org", email_verified=True)

    sign_in(browser, live, "dave-at-idp", "dave-password")

    assert signed_in_as(browser, live) == "dave"
    assert ExternalIdentity.objects.get().user == dave


def test_an_unverified_email_never_links_to_an_existing_account(live_server_process, oidc_op, oidc_idp, browser,
                                                                django_user_model):  # fmt: skip
    live = live_server_process
    django_user_model.objects.create_user("bob", email="bob@example.org")
    oidc_op.set_account("mallory", "mallory-password", email="bob@example.org", email_verified=False)

    page = sign_in(browser, live, "mallory", "mallory-password")

    assert_refused(page, browser, live, "has not verified the e-mail address bob@example.org")
    assert django_user_model.objects.filter(email="bob@example.org").count() == 1


def test_the_local_break_glass_sign_in_stays_for_administrators(live_server_process, oidc_idp, admin_user, browser):
    live = live_server_process
    page = browser.get(f"{live.url}/login/")
    assert "Sign in with Test OP" in page.text

    browser.submit(page, username="admin", password=ADMIN_PASSWORD)

    assert signed_in_as(browser, live) == "admin"


@pytest.mark.parametrize("state", ["a-state-this-browser-never-saw", None])
def test_a_wrong_or_missing_state_is_refused(live_server_process, oidc_op, oidc_idp, browser, state):
    live = live_server_process
    oidc_op.set_account("erin", "erin-password", email="erin@example.org", email_verified=True)
    url = callback_url(browser, live, "erin", "erin-password")

    page = browser.get(with_query(url, state=state))

    assert_refused(page, browser, live, "The state does not match")


def test_a_code_used_once_is_refused_the_second_time(live_server_process, oidc_op, oidc_idp, browser):
    live = live_server_process
    oidc_op.set_account("frank", "frank-password", email="frank@example.org", email_verified=True)
    url = callback_url(browser, live, "frank", "frank-password")
    assert browser.get(url).status_code == 200
    assert signed_in_as(browser, live) == "frank@example.org"
    code = dict(parse_qsl(urlparse(url).query))["code"]

    browser.client.cookies.clear()  # an attacker's browser, with a sign-in of its own under way
    attacker_url = callback_url(browser, live, "frank", "frank-password")
    page = browser.get(with_query(attacker_url, code=code))

    assert_refused(page, browser, live, "refused", sessions_before=1, identities_before=1)


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/steal", "http://evil.example"])
def test_an_off_site_next_is_refused(live_server_process, oidc_op, oidc_idp, browser, next_url):
    live = live_server_process

    page = browser.get(f"{live.url}/sso/oidc/{oidc_idp}/login/?{urlencode({'next': next_url})}")

    assert page.status_code == 400
    assert_refused(page, browser, live, "next must be a page of Tessera")


def test_the_forged_provider_signs_in_when_nothing_is_wrong(live_server_process, forged_op, forged_idp, browser):
    live = live_server_process
    page = browser.get(f"{live.url}/login/")

    browser.get(browser.link(page, "Sign in with Forged OP"))

    assert signed_in_as(browser, live) == "forged@example.org"


# Why each broken token is refused, as the refusal page says.
REASONS = {
    "wrong_nonce": "Nonce verification failed",
    "no_nonce": "Nonce verification failed",
    "wrong_iss": "not by this provider",
    "wrong_aud": "not meant for Tessera",
    "expired": "has expired",
    "alg_none": "signed with none, not RS256",
    "bad_signature": "JWS token verification failed",
    "unknown_kid": "Could not find a valid JWKS",
    "userinfo_sub_mismatch": "userinfo is about another subject",
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_a_broken_id_token_or_userinfo_is_refused(live_server_process, forged_op, forged_idp, browser, defect):
    live = live_server_process
    forged_op.defect = defect
    page = browser.get(f"{live.url}/login/")

    refused = browser.get(browser.link(page, "Sign in with Forged OP"))

    assert_refused(refused, browser, live, REASONS[defect])


def test_a_subject_longer_than_tessera_keeps_is_refused(live_server_process, forged_op, forged_idp, browser):
    live = live_server_process
    forged_op.subject = "s" * 256
    try:
        page = browser.get(browser.link(browser.get(f"{live.url}/login/"), "Sign in with Forged OP"))
    finally:
        forged_op.subject = "forged-user"

    assert_refused(page, browser, live, "longer than Tessera keeps")


def test_signing_out_ends_the_session_here_and_at_the_provider(live_server_process, oidc_op, oidc_idp, browser):
    live = live_server_process
    oidc_op.set_account("heidi", "heidi-password", email="heidi@example.org", email_verified=True)
    sign_in(browser, live, "heidi", "heidi-password")
    assert signed_in_as(browser, live) == "heidi@example.org"

    csrf = browser.client.cookies.get("csrftoken", domain="127.0.0.1")
    confirm = browser.client.post(f"{live.url}/sso/logout/", headers={"X-CSRFToken": csrf}, follow_redirects=True)
    assert confirm.url.host == "127.0.0.1" and str(confirm.url).startswith(oidc_op.issuer)  # the provider asks
    back = browser.submit(confirm, logout="yes")

    assert str(back.url) == f"{live.url}/login/"
    assert signed_in_as(browser, live) is None
    assert 'name="password"' in open_provider(browser, live, "Test OP").text  # signed out there too
