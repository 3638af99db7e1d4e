"""The gate on the remaining workload endpoints and pages; password change; token housekeeping."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, IssuedToken
from accounts.services import signin
from accounts.tasks import purge_expired_tokens
from tests.accounts.conftest import PASSWORD, Bearer, client_for, post_json

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("suffix", ["", "/events", "/logs"])
def test_workloads_outside_the_scope_do_not_exist_for_the_caller(org, make_user, suffix):
    client = client_for(make_user("rita", 6, "project", org.p1.pk))
    assert client.get(f"/api/v1/workloads/{org.workloads['p1'].pk}{suffix}").status_code == 200
    assert client.get(f"/api/v1/workloads/{org.workloads['p4'].pk}{suffix}").status_code == 404


def test_pages_and_cluster_detail_follow_the_gate(org, make_user):
    client = client_for(make_user("rita", 6, "project", org.p1.pk))
    assert client.get(f"/workloads/{org.workloads['p1'].pk}/").status_code == 200
    assert client.get(f"/workloads/{org.workloads['p4'].pk}/").status_code == 404
    assert client.get(f"/api/v1/clusters/{org.c1.pk}").status_code == 200
    assert client.get(f"/api/v1/clusters/{org.c2.pk}").status_code == 404
    page = client.get("/workloads/")
    assert [c.name for c in page.context["clusters"]] == ["c1"]


def test_an_application_submits_where_its_rule_allows(api, org):
    app = post_json(api, "/api/v1/apps", {"name": "bot"}).json()
    rule = {"subjectType": "app", "subjectId": "bot", "roleId": 7, "scopeType": "project", "scopeId": str(org.p2.pk)}
    assert post_json(api, "/api/v1/authorization/access-rules", rule).status_code == 201
    token = post_json(Client(), "/api/v1/token", {"grantType": "app_token", "AppId": "bot", "AppSecret": app["secret"]})
    bot = Bearer(token.json()["accessToken"])
    body = {"name": "from-ci", "projectId": str(org.p2.pk), "spec": {"image": "busybox"}}
    submitted = bot.post("/api/v1/workloads/trainings", body)
    assert submitted.status_code == 202
    event = AuditEvent.objects.get(object_type="workload", action="create")
    assert (event.actor_type, event.actor, event.object_name) == ("app", "bot", "from-ci")
    assert bot.post("/api/v1/workloads/trainings", body | {"projectId": str(org.p1.pk)}).status_code == 400
    assert {w["name"] for w in bot.get("/api/v1/workloads").json()["workloads"]} == {"from-ci", "w-p2"}


def test_changing_ones_password_keeps_this_session_and_ends_the_others(django_user_model):
    signin.clear_failures("carol2")
    carol = django_user_model.objects.create_user("carol2", password=PASSWORD)
    here, elsewhere = Client(), Client()
    here.post("/login/", {"username": "carol2", "password": PASSWORD})
    elsewhere.post("/login/", {"username": "carol2", "password": PASSWORD})
    url = "/api/v1/me/password"
    assert post_json(here, url, {"currentPassword": "wrong", "newPassword": "x"}).status_code == 400
    weak = post_json(here, url, {"currentPassword": PASSWORD, "newPassword": "password"})
    assert weak.status_code == 400 and "newPassword" in weak.json()["message"]
    changed = post_json(here, url, {"currentPassword": PASSWORD, "newPassword": "another-long-passphrase-9"})
    assert changed.status_code == 204
    assert here.get("/api/v1/me").status_code == 200
    assert elsewhere.get("/api/v1/me").status_code in (401, 403)
    carol.refresh_from_db()
    assert carol.check_password("another-long-passphrase-9")
    signin.clear_failures("carol2")


def test_expired_token_records_are_purged_a_day_later(admin_user):
    now = timezone.now()
    for jti, expired in (("old", now - timedelta(days=2)), ("recent", now - timedelta(hours=1)), ("live", now)):
        IssuedToken.objects.create(jti=jti, user=admin_user, issued_at=expired, expires_at=expired)
    assert purge_expired_tokens() == 1
    assert set(IssuedToken.objects.values_list("jti", flat=True)) == {"recent", "live"}
