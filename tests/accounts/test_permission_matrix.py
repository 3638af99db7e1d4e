"""Every role x scope level, through the HTTP API: what each may list, create, delete and grant,
and what it may not. One user holds one rule; the expectation comes from the role's grants and
the shape of the tree, written here independently of the code that enforces them."""

import pytest

from accounts.roles import ROLE_DEFINITIONS, ROLES_BY_ID, SYSTEM_ADMINISTRATOR
from tests.accounts.conftest import client_for, grant, post_json

pytestmark = pytest.mark.django_db

LEVELS = ("tenant", "cluster", "department", "project")
# The rule sits on c1, d1 or p1 (or the account); see the ``org`` fixture for the tree.
PROJECTS_BELOW = {"tenant": {"p1", "p2", "p3", "p4"}, "cluster": {"p1", "p2", "p3"}, "department": {"p1", "p2"},
                  "project": {"p1"}}  # fmt: skip
# Reading also shows the department and cluster a covered project lives in.
DEPARTMENTS_SEEN = {"tenant": {"d1", "d2", "d3"}, "cluster": {"d1", "d2"}, "department": {"d1"}, "project": {"d1"}}
CLUSTERS_SEEN = {"tenant": {"c1", "c2"}, "cluster": {"c1"}, "department": {"c1"}, "project": {"c1"}}
VIEWER = ROLES_BY_ID[9]


def scope_of(org, level):
    return {"tenant": "1", "cluster": org.c1.pk, "department": org.d1.pk, "project": org.p1.pk}[level]


def names(response, key=None):
    assert response.status_code == 200, response.content
    body = response.json()
    return {item["name"] for item in (body[key] if key else body)}


def training(project, name):
    return {"name": name, "projectId": str(project.pk), "spec": {"image": "busybox", "command": "true"}}


@pytest.fixture
def caller(request, org, django_user_model):
    role, level = request.param
    # No passwords: hashing them would dominate the run, and these users never type one.
    user = django_user_model.objects.create_user("u")
    django_user_model.objects.create_user("other")
    # Someone else keeps the account's System administrator, so removals are not "the last one".
    django_user_model.objects.create_user("root")
    grant("root", SYSTEM_ADMINISTRATOR.id, "tenant", "1")
    grant("u", role.id, level, scope_of(org, level))
    return role, level, client_for(user)


CASES = [pytest.param((role, level), id=f"{role.name}@{level}") for role in ROLE_DEFINITIONS for level in LEVELS]


@pytest.mark.parametrize("caller", CASES, indirect=True)
def test_lists_show_exactly_the_scope(caller, org):
    role, level, client = caller
    expect = {f"w-{p}" for p in PROJECTS_BELOW[level]} if role.grants("workloads", "read") else set()
    assert names(client.get("/api/v1/workloads"), "workloads") == expect
    expect = {f"w-{p}" for p in PROJECTS_BELOW[level]} if role.grants("trainings", "read") else set()
    assert names(client.get("/api/v1/workloads/trainings"), "trainings") == expect
    expect = PROJECTS_BELOW[level] if role.grants("project", "read") else set()
    assert names(client.get("/api/v1/org-unit/projects"), "projects") == expect
    expect = DEPARTMENTS_SEEN[level] if role.grants("department", "read") else set()
    assert names(client.get("/api/v1/org-unit/departments"), "departments") == expect
    expect = CLUSTERS_SEEN[level] if role.grants("cluster", "read") else set()
    assert names(client.get("/api/v1/clusters")) == expect
    page = client.get("/workloads/")
    assert page.status_code == 200
    shown = {w["name"] for w in page.context["workloads"]}
    assert shown == ({f"w-{p}" for p in PROJECTS_BELOW[level]} if role.grants("workloads", "read") else set())


@pytest.mark.parametrize("caller", CASES, indirect=True)
def test_submitting_and_deleting_trainings(caller, org):
    role, level, client = caller
    inside = post_json(client, "/api/v1/workloads/trainings", training(org.p1, "mine"))
    assert inside.status_code == (202 if role.grants("trainings", "create") else 403), inside.content
    outside = post_json(client, "/api/v1/workloads/trainings", training(org.p4, "theirs"))
    if level == "tenant":
        assert outside.status_code == inside.status_code
    else:  # a project outside the caller's scope does not exist, as far as he can tell
        assert outside.status_code == 400 and "does not exist" in outside.json()["message"]
    target = org.workloads["p1"]
    deleted = client.delete(f"/api/v1/workloads/trainings/{target.pk}")
    if not role.grants("trainings", "read"):
        assert deleted.status_code == 404
    else:
        assert deleted.status_code == (202 if role.grants("trainings", "delete") else 403)
    elsewhere = client.delete(f"/api/v1/workloads/trainings/{org.workloads['p4'].pk}")
    if level != "tenant":
        assert elsewhere.status_code == 404


@pytest.mark.parametrize("caller", CASES, indirect=True)
def test_account_wide_resources_need_an_account_wide_rule(caller):
    role, level, client = caller
    account = level == "tenant"
    assert client.get("/api/v1/users").status_code == (200 if account and role.grants("users", "read") else 403)
    created = post_json(client, "/api/v1/apps", {"name": "bot"})
    assert created.status_code == (201 if account and role.grants("apps", "create") else 403)
    assert client.get("/api/v1/audit").status_code == (200 if account and role.grants("audit-logs", "read") else 403)
    assert client.get("/api/v1/authorization/roles").status_code == 200  # public to every signed-in caller


def rule(subject, role_id, scope_type, scope_id):
    return {"subjectType": "user", "subjectId": subject, "roleId": role_id, "scopeType": scope_type,
            "scopeId": str(scope_id)}  # fmt: skip


@pytest.mark.parametrize("caller", CASES, indirect=True)
def test_granting_and_escalation(caller, org):
    role, level, client = caller
    scope_id = scope_of(org, level)
    may_grant = role.grants("access_rules", "create")
    holds_viewer = VIEWER.pairs() <= role.pairs()
    viewer = post_json(client, "/api/v1/authorization/access-rules", rule("other", VIEWER.id, level, scope_id))
    assert viewer.status_code == (201 if may_grant and holds_viewer else 403), viewer.content
    # Escalation: System administrator in the caller's own scope, for "other" and for himself.
    for subject in ("other", "u"):
        admin = post_json(client, "/api/v1/authorization/access-rules", rule(subject, 1, level, scope_id))
        if role is SYSTEM_ADMINISTRATOR:  # granting is fine; he already holds it himself
            assert admin.status_code == (201 if subject == "other" else 409), admin.content
        else:
            assert admin.status_code == 403 and "may not" in admin.json()["message"]
    # Outside the caller's scope (project p4 on the other cluster), only account-wide rules reach.
    outside = post_json(client, "/api/v1/authorization/access-rules", rule("other", VIEWER.id, "project", org.p4.pk))
    expect_outside = 201 if level == "tenant" and may_grant and holds_viewer else 403
    assert outside.status_code == expect_outside
    listed = client.get("/api/v1/authorization/access-rules")
    visible = {(r["subjectId"], r["roleId"]) for r in listed.json()["accessRules"]}
    if role.grants("access_rules", "read"):
        assert ("u", role.id) in visible
        assert (("root", 1) in visible) == (level == "tenant")
    else:
        assert visible == set()


@pytest.mark.parametrize("caller", CASES, indirect=True)
def test_removing_rules(caller, org):
    role, level, client = caller
    strong = grant("other", SYSTEM_ADMINISTRATOR.id, level, scope_of(org, level))
    weak = grant("other", VIEWER.id, level, scope_of(org, level))
    removing_strong = client.delete(f"/api/v1/authorization/access-rules/{strong.pk}")
    removing_weak = client.delete(f"/api/v1/authorization/access-rules/{weak.pk}")
    if not role.grants("access_rules", "read"):
        assert removing_strong.status_code == removing_weak.status_code == 404
        return
    may_delete = role.grants("access_rules", "delete")
    assert removing_strong.status_code == (204 if role is SYSTEM_ADMINISTRATOR else 403)
    assert removing_weak.status_code == (204 if may_delete and VIEWER.pairs() <= role.pairs() else 403)
