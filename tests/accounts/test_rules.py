"""Access rules and roles: the table in code is what the database and the API show; rules are
validated, never edited, and the account keeps a System administrator."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.access import may
from accounts.models import AccessRule, Role
from accounts.roles import ROLE_DEFINITIONS, SYSTEM_ADMINISTRATOR
from accounts.services import ensure_first_administrator
from tests.accounts.conftest import client_for, grant, post_json

pytestmark = pytest.mark.django_db
URL = "/api/v1/authorization/access-rules"


def test_the_seeded_roles_are_the_table_in_code():
    assert list(Role.objects.values_list("id", "name")) == [(r.id, r.name) for r in ROLE_DEFINITIONS]


def test_roles_are_rendered_in_runai_shape(api):
    roles = api.get("/api/v1/authorization/roles").json()
    assert [r["name"] for r in roles][:9] == [
        "System administrator", "Department administrator", "Department viewer", "Editor", "Research manager",
        "L1 researcher", "L2 researcher", "ML engineer", "Viewer",
    ]  # fmt: skip
    l2 = api.get("/api/v1/authorization/roles/7").json()
    assert {"resourceType": "trainings", "displayName": "Trainings", "groupId": "workloads",
            "actions": ["create", "read", "update", "delete"]} in l2["permissions"]  # fmt: skip
    assert l2["custom"] is False and api.get("/api/v1/authorization/roles/99").status_code == 404


def test_the_roles_page_renders_the_table(api):
    page = api.get("/roles/")
    assert page.status_code == 200 and b"L2 researcher" in page.content and b"trainings" in page.content


def test_a_rule_holds_below_its_scope_and_not_above(org, make_user):
    user = make_user("dana", 2, "department", org.d1.pk)
    assert may(user, "create", "trainings", org.workloads["p2"])
    assert may(user, "update", "department", org.d1)
    assert not may(user, "update", "department", org.d2)
    assert not may(user, "read", "cluster", org.c1)  # the gate shows it for reading; the rule is not on it
    assert not may(user, "create", "trainings", org.p4)


def test_group_rules_hold_for_members(org, make_user):
    from django.contrib.auth.models import Group

    user = make_user("gil")
    user.groups.add(Group.objects.create(name="ml-team"))
    grant("ml-team", 6, "project", org.p3.pk, subject_type="group")
    assert may(user, "create", "trainings", org.p3) and not may(user, "create", "trainings", org.p1)


def test_rules_are_never_edited(org, make_user):
    make_user("eve")
    rule = grant("eve", 9, "project", org.p1.pk)
    rule.role_id = 1
    with pytest.raises(ValidationError):
        rule.save()


@pytest.mark.parametrize(
    "body, message",
    [
        ({"roleId": 99}, "no role"),
        ({"scopeType": "galaxy"}, "scopeType"),
        ({"scopeType": "project", "scopeId": "999"}, "no project"),
        ({"scopeType": "cluster", "scopeId": "not-a-uuid"}, "no cluster"),
        ({"subjectId": "ghost"}, "no user"),
        ({"subjectType": "app", "subjectId": "ghost"}, "no application"),
        ({"roleId": "1"}, "roleId"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_rules_get_a_clear_400(api, make_user, body, message):
    make_user("eve")
    request = {"subjectType": "user", "subjectId": "eve", "roleId": 9, "scopeType": "tenant", "scopeId": "1"} | body
    response = post_json(api, URL, request)
    assert response.status_code == 400 and message in response.json()["message"]


def test_account_is_accepted_for_tenant_and_duplicates_conflict(api, make_user):
    make_user("eve")
    body = {"subjectType": "user", "subjectId": "eve", "roleId": 9, "scopeType": "account", "scopeId": "1"}
    created = post_json(api, URL, body)
    assert created.status_code == 201 and created.json()["scopeType"] == "tenant"
    assert post_json(api, URL, body).status_code == 409


def test_the_last_system_administrator_cannot_be_removed(db):
    ensure_first_administrator("root", "a-long-enough-password-1")
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.get(username="root")
    client = client_for(root)
    only = AccessRule.objects.get(role_id=SYSTEM_ADMINISTRATOR.id)
    refused = client.delete(f"{URL}/{only.pk}")
    assert refused.status_code == 409 and "last System administrator" in refused.json()["message"]
    # With a second one, the first may go; then the second is the last.
    get_user_model().objects.create_user("second")
    other = grant("second", SYSTEM_ADMINISTRATOR.id, "tenant", "1")
    assert client.delete(f"{URL}/{only.pk}").status_code == 204
    second = client_for(get_user_model().objects.get(username="second"))
    assert second.delete(f"{URL}/{other.pk}").status_code == 409
    assert second.delete(f"/api/v1/users/{root.pk}").status_code == 204  # root holds no rule any more


def test_deleting_the_user_holding_the_last_system_administrator_rule_is_refused(db, django_user_model):
    ensure_first_administrator("root", "a-long-enough-password-1")
    helper = django_user_model.objects.create_superuser("helper")
    root = django_user_model.objects.get(username="root")
    response = client_for(helper).delete(f"/api/v1/users/{root.pk}")
    assert response.status_code == 409 and django_user_model.objects.filter(username="root").exists()


def test_list_filters(api, org, make_user):
    make_user("eve")
    make_user("finn")
    grant("eve", 9, "project", org.p1.pk)
    grant("eve", 6, "project", org.p2.pk)
    grant("finn", 6, "cluster", org.c1.pk)
    assert api.get(URL, {"subjectIds": "eve"}).json()["totalRecords"] == 2
    assert api.get(URL, {"roleId": "6"}).json()["totalRecords"] == 2
    on_cluster = api.get(URL, {"scopeType": "cluster"}).json()["accessRules"]
    assert [(r["subjectId"], r["scopeName"]) for r in on_cluster] == [("finn", "c1")]
    assert {r["scopeName"] for r in api.get(URL, {"subjectIds": "eve"}).json()["accessRules"]} == {"p1", "p2"}
    assert api.get(URL, {"clusterId": "bogus"}).json()["totalRecords"] == 0
    page = api.get(URL, {"limit": "1", "offset": "1", "subjectIdFilter": "e"}).json()
    assert page["totalRecords"] == 2 and page["displayRecords"] == 1
    assert api.get(URL, {"roleId": "x"}).status_code == 400
    assert Client().get(URL).status_code == 401


def test_rules_go_with_their_scope(org, make_user):
    make_user("eve")
    grant("eve", 9, "project", org.p4.pk)
    grant("eve", 9, "department", org.d3.pk)
    grant("eve", 9, "cluster", org.c2.pk)
    kept = grant("eve", 9, "project", org.p1.pk)
    org.workloads["p4"].delete()
    org.p4.delete()
    org.c2.delete()  # cascades to d3
    assert list(AccessRule.objects.filter(subject_id="eve")) == [kept]
