"""Applications and bearer tokens: the happy path, and every way a token must be refused."""

import time
from urllib.parse import urlencode

import jwt
import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Application, AuditEvent, IssuedToken
from tests.accounts.conftest import Bearer, post_json

pytestmark = pytest.mark.django_db
INVALID = {"code": 401, "message": "Invalid, expired or revoked token."}


@pytest.fixture
def app(api):
    response = post_json(api, "/api/v1/apps", {"name": "ci-bot"})
    assert response.status_code == 201, response.content
    return response.json()


def form_post(path, fields):
    """As OAuth2 clients send it: application/x-www-form-urlencoded."""
    return Client().post(path, urlencode(fields), content_type="application/x-www-form-urlencoded")


def v1_token(app_id, secret):
    return post_json(Client(), "/api/v1/token", {"grantType": "app_token", "AppId": app_id, "AppSecret": secret})


def token_of(app):
    response = v1_token(app["clientId"], app["secret"])
    assert response.status_code == 200, response.content
    return response.json()["accessToken"]


def test_the_secret_is_shown_once_and_stored_hashed(api, app):
    assert len(app["secret"]) >= 43  # 32 random bytes, url-safe base64
    stored = Application.objects.get(pk=app["id"])
    assert app["secret"] not in stored.secret_hash
    listed = api.get(f"/api/v1/apps/{app['id']}").json()
    assert "secret" not in listed and listed["clientId"] == "ci-bot"


def test_v1_token_carries_exp_iat_sub_jti_and_authenticates(app):
    token = token_of(app)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert {"exp", "iat", "sub", "jti"} <= set(claims) and claims["exp"] > claims["iat"]
    me = Bearer(token).get("/api/v1/me")
    assert me.status_code == 200 and me.json()["subjectType"] == "app" and me.json()["name"] == "ci-bot"


def test_v2_client_credentials_by_form_and_json(app):
    form = form_post(
        "/api/v2/token", {"grant_type": "client_credentials", "client_id": "ci-bot", "client_secret": app["secret"]}
    )
    assert form.status_code == 200, form.content
    body = form.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == settings.TESSERA_TOKEN_LIFETIME
    as_json = post_json(
        Client(),
        "/api/v2/token",
        {"grant_type": "client_credentials", "client_id": "ci-bot", "client_secret": app["secret"]},
    )
    assert as_json.status_code == 200 and Bearer(as_json.json()["access_token"]).get("/api/v1/me").status_code == 200


def test_v2_password_grant_for_a_user(admin_user):
    from tests.conftest import ADMIN_PASSWORD

    response = form_post("/api/v2/token", {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.content
    assert Bearer(response.json()["access_token"]).get("/api/v1/me").json()["name"] == "admin"
    wrong = form_post("/api/v2/token", {"grant_type": "password", "username": "admin", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_grant"


def test_unknown_grant_type_is_a_400():
    response = post_json(Client(), "/api/v2/token", {"grant_type": "implicit"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_wrong_secret_and_unknown_app_are_refused_alike(app):
    wrong = v1_token("ci-bot", app["secret"] + "x")
    unknown = v1_token("nobody", app["secret"])
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert AuditEvent.objects.filter(action="sign_in", outcome="failure", object_type="application").count() == 2


def test_old_secret_and_its_tokens_die_when_the_secret_is_regenerated(api, app):
    old_token = token_of(app)
    regenerated = api.post(f"/api/v1/apps/{app['id']}/secret")
    assert regenerated.status_code == 200
    new_secret = regenerated.json()["secret"]
    assert new_secret != app["secret"]
    assert v1_token("ci-bot", app["secret"]).status_code == 401
    assert Bearer(old_token).get("/api/v1/me").json() == INVALID
    assert v1_token("ci-bot", new_secret).status_code == 200


def test_expired_token_is_refused(app, settings):
    settings.TESSERA_TOKEN_LIFETIME = 1
    token = token_of(app)
    time.sleep(2.1)
    response = Bearer(token).get("/api/v1/me")
    assert response.status_code == 401 and response.json() == INVALID


def test_revoked_token_is_refused(app):
    token = token_of(app)
    assert post_json(Client(), "/api/v1/token/revoke", {"token": token}).status_code == 204
    assert IssuedToken.objects.get().revoked_at is not None
    assert Bearer(token).get("/api/v1/me").json() == INVALID


def test_token_of_a_deleted_application_is_refused(api, app):
    token = token_of(app)
    assert api.delete(f"/api/v1/apps/{app['id']}").status_code == 204
    assert Bearer(token).get("/api/v1/me").json() == INVALID


def test_tampered_token_is_refused(app):
    header, payload, signature = token_of(app).split(".")
    claims = jwt.decode(f"{header}.{payload}.{signature}", options={"verify_signature": False})
    claims["sub"] = "user:1"
    guessed = jwt.encode(claims, "a-guessed-key-that-is-long-enough-32b", algorithm="HS256")
    assert Bearer(f"{header}.{guessed.split('.')[1]}.{signature}").get("/api/v1/me").json() == INVALID
    assert Bearer(guessed).get("/api/v1/me").json() == INVALID


def test_alg_none_token_is_refused(app):
    claims = jwt.decode(token_of(app), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    response = Bearer(unsigned).get("/api/v1/me")
    assert response.status_code == 401 and response.json() == INVALID


def test_garbage_and_missing_tokens_get_401_with_a_bearer_challenge():
    assert Bearer("not-a-jwt").get("/api/v1/workloads").status_code == 401
    response = Client().get("/api/v1/workloads")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_bearer_post_needs_no_csrf_but_a_session_post_does(admin_user, app):
    bearer = Bearer(token_of(app))
    assert bearer.post("/api/v1/apps", {"name": "x"}).status_code == 403  # no rule: refused, not CSRF-failed
    assert "CSRF" not in bearer.post("/api/v1/apps", {"name": "x"}).json()["message"]
    session = Client(enforce_csrf_checks=True)
    session.force_login(admin_user)
    refused = post_json(session, "/api/v1/apps", {"name": "other"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
