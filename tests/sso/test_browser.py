"""The sign-in flows in a real headless Chromium, where SameSite cookie rules apply: the OpenID
provider sends the browser back with a cross-site redirect (a top-level GET: Tessera's Lax session
cookie, holding the state, comes along), and SimpleSAMLphp, on another site (localhost against
127.0.0.1), posts its response cross-site (no Lax cookie comes along: Tessera keeps the request
it sent on the server, so the login still finds it)."""

import json

import pytest

from tests.sso.conftest import SAML_ALIAS
from tests.sso.test_saml import ALICE

pytestmark = pytest.mark.e2e


def me(page) -> dict:
    page.goto("/api/v1/me")
    return json.loads(page.inner_text("body"))


def test_oidc_sign_in_in_a_real_browser(open_browser, oidc_op, oidc_idp):
    oidc_op.set_account("grace", "grace-password", email="grace@example.org", email_verified=True, groups=["ops"])
    page = open_browser()
    page.goto("/login/?next=/projects/")

    page.get_by_role("link", name="Sign in with Test OP").click()
    page.fill("input[name=username]", "grace")
    page.fill("input[name=password]", "grace-password")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/projects/")
    assert (me(page)["name"], me(page)["groups"]) == ("grace@example.org", ["ops"])


def test_saml_sign_in_in_a_real_browser_with_a_cross_site_post(live_server_process, open_browser, saml_idp,
                                                               saml_idp_in_tessera):  # fmt: skip
    saml_idp.set_users({"alice": ALICE})
    page = open_browser()
    page.goto("/login/?next=/projects/")

    page.get_by_role("link", name="Sign in with SimpleSAMLphp").click()
    page.wait_for_url(f"{saml_idp.base_url}/**")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-password")
    tessera_cookies = {c["name"]: c for c in page.context.cookies(live_server_process.url)}
    assert tessera_cookies["csrftoken"]["sameSite"] == "Lax"  # set by Tessera's sign-in page
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith(f"/sso/saml/{SAML_ALIAS}/acs/")) as acs:
        page.locator("button[type=submit], input[type=submit]").first.click()

    page.wait_for_url("**/projects/")  # SimpleSAMLphp's page posted the response to Tessera by itself
    assert "csrftoken" not in acs.value.all_headers().get("cookie", "")  # cross-site: no Lax cookie came
    assert me(page)["name"] == "alice@example.org"
