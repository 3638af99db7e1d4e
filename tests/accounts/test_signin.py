"""Local sign-in: lockout shared by every worker, session rotation, logout everywhere, passwords."""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import AuditEvent
from accounts.services import signin
from tests.accounts.conftest import PASSWORD, Bearer, post_json
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counter(settings):
    """Each test gets its own counter (and, on Redis, its own keys are cleared)."""
    signin._counter = None
    for name in ("mallory", "carol"):
        signin.clear_failures(name)
    yield
    for name in ("mallory", "carol"):
        signin.clear_failures(name)
    signin._counter = None


def sign_in(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_the_counter_is_redis_when_redis_is_configured():
    expected = signin.RedisCounter if settings.REDIS_URL else signin.ProcessCounter
    assert isinstance(signin.counter(), expected)


def test_concurrent_failures_are_counted_exactly_once_each():
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = sorted(pool.map(lambda _: signin.record_failure("mallory"), range(40)))
    assert counts == list(range(1, 41))  # INCR is atomic: no two workers saw the same count


def test_the_in_process_fallback_counts_and_expires(monkeypatch):
    counter = signin.ProcessCounter()
    assert [counter.add("k", 60) for _ in range(3)] == [1, 2, 3]
    clock = [1000.0]
    monkeypatch.setattr(signin.time, "monotonic", lambda: clock[0])
    counter.add("j", 60)
    clock[0] += 61
    assert counter.get("j") == 0


def test_repeated_failures_lock_the_account_everywhere(django_user_model):
    django_user_model.objects.create_user("mallory", password=PASSWORD)
    client = Client()
    for _ in range(settings.TESSERA_SIGNIN_MAX_FAILURES):
        assert sign_in(client, "mallory", "wrong-guess").status_code == 200
    locked = sign_in(client, "mallory", PASSWORD)  # even the right password is refused now
    assert locked.status_code == 200 and b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session
    assert Client().get("/api/v1/workloads", headers=basic_auth("mallory", PASSWORD)).status_code == 401
    grant = {"grant_type": "password", "username": "mallory", "password": PASSWORD}
    token = Client().post("/api/v2/token", urlencode(grant), content_type="application/x-www-form-urlencoded")
    assert token.status_code == 401 and "Too many failed sign-ins" in token.json()["error_description"]
    failures = AuditEvent.objects.filter(action="sign_in", outcome="failure", object_name="mallory")
    assert failures.count() >= settings.TESSERA_SIGNIN_MAX_FAILURES + 3
    assert failures.first().actor == "mallory" and failures.first().address == "127.0.0.1"


def test_success_clears_the_failures_and_rotates_the_session(django_user_model):
    django_user_model.objects.create_user("carol", password=PASSWORD)
    client = Client()
    sign_in(client, "carol", "wrong-guess")
    client.get("/login/")
    before = client.session.session_key
    assert sign_in(client, "carol", PASSWORD).status_code == 302
    assert client.session.session_key != before
    assert signin.counter().get(signin._key("carol")) == 0
    assert AuditEvent.objects.filter(action="sign_in", outcome="success", actor="carol").exists()


def test_logout_everywhere_ends_every_session_and_token(django_user_model):
    django_user_model.objects.create_user("carol", password=PASSWORD)
    laptop, phone = Client(), Client()
    sign_in(laptop, "carol", PASSWORD)
    sign_in(phone, "carol", PASSWORD)
    grant = {"grantType": "password", "username": "carol", "password": PASSWORD}
    token = post_json(Client(), "/api/v1/token", grant).json()["accessToken"]
    assert Bearer(token).get("/api/v1/me").status_code == 200
    assert laptop.post("/logout/everywhere/").status_code == 302
    assert phone.get("/workloads/").status_code == 302  # back to the sign-in page
    assert Bearer(token).get("/api/v1/me").status_code == 401


def test_only_an_administrator_logs_out_someone_else(api, django_user_model):
    carol = django_user_model.objects.create_user("carol", password=PASSWORD)
    other = Client()
    other.force_login(django_user_model.objects.create_user("dave"))
    assert other.post(f"/api/v1/users/{carol.pk}/logout").status_code == 403
    assert api.post(f"/api/v1/users/{carol.pk}/logout").status_code == 204


def test_weak_passwords_are_refused():
    for weak in ("short", "password1234", "12345678901234"):
        with pytest.raises(ValidationError):
            validate_password(weak)


def test_created_users_get_a_valid_temporary_password_shown_once(api):
    created = post_json(api, "/api/v1/users", {"email": "new@example.com"})
    assert created.status_code == 201
    body = created.json()
    assert Client().login(username="new@example.com", password=body["tempPassword"])
    listed = api.get(f"/api/v1/users/{body['id']}").json()
    assert listed["username"] == "new@example.com" and "tempPassword" not in listed
    assert post_json(api, "/api/v1/users", {"email": "new@example.com"}).status_code == 409
    assert post_json(api, "/api/v1/users", {"email": "no-at-sign"}).status_code == 400


def test_only_users_with_a_password_of_ours_are_local(api, django_user_model):
    local = post_json(api, "/api/v1/users", {"email": "local@example.com"}).json()
    from_provider = django_user_model.objects.create_user("sso-user")  # as sso creates them: no password
    assert api.get(f"/api/v1/users/{local['id']}").json()["isLocal"] is True
    assert api.get(f"/api/v1/users/{from_provider.pk}").json()["isLocal"] is False
