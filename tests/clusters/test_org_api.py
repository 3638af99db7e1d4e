"""Departments and projects through /api/v1/org-unit: quotas per node pool, their validation,
and who may change what. ``org``: c1 holds d1 (p1, p2) and d2 (p3); c2 holds d3 (p4)."""

import json

import pytest

from accounts.models import AccessRule, AuditEvent
from clusters.models import Department, NodePool, Project, Quota
from tests.accounts.conftest import client_for

pytestmark = pytest.mark.django_db

SYSADMIN, DEPARTMENT_ADMIN, EDITOR, L1_RESEARCHER, VIEWER = 1, 2, 4, 6, 9
DEPARTMENTS, PROJECTS = "/api/v1/org-unit/departments", "/api/v1/org-unit/projects"


def gpu(deserved, limit=-1, weight=1, pool="default"):
    return {"nodePool": {"name": pool}, "gpu": {"deserved": deserved, "limit": limit, "overQuotaWeight": weight}}


def send(client, method, path, body):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def refused(response, status, field):
    assert response.status_code == status, response.content
    assert response.json()["message"].startswith(field), response.json()
    return response


@pytest.fixture
def admin(make_user):
    return client_for(make_user("root", SYSADMIN))


@pytest.fixture
def quota_d1(org):
    """d1 deserves 4 GPUs in c1's default pool; p1 and p2 have none yet."""
    pool = NodePool.objects.create(cluster=org.c1, name="default")
    Quota.objects.create(node_pool=pool, department=org.d1, gpu_deserved=4)
    return pool


def test_a_department_is_created_with_quotas_per_node_pool_and_audited(admin, org):
    NodePool.objects.create(cluster=org.c1, name="a100", label_key="gpu", label_value="a100")
    body = {
        "name": "research",
        "clusterId": str(org.c1.pk),
        "description": "the lab",
        "resources": [
            gpu(4, 8, 2),
            {
                "nodePool": {"name": "a100"},
                "gpu": {"deserved": 2, "limit": -1, "overQuotaWeight": 1},
                "cpu": {"deserved": 8000, "limit": 16000, "overQuotaWeight": 1},
                "memory": {"deserved": 64, "limit": -1, "overQuotaWeight": 1, "units": "GB"},
            },
        ],
    }
    response = send(admin, "post", DEPARTMENTS, body)
    assert response.status_code == 201, response.content
    created = response.json()
    by_pool = {entry["nodePool"]["name"]: entry for entry in created["resources"]}
    assert by_pool["default"]["gpu"] == {"deserved": 4, "limit": 8, "overQuotaWeight": 2}
    assert by_pool["a100"]["cpu"] == {"deserved": 8000, "limit": 16000, "overQuotaWeight": 1}
    assert by_pool["a100"]["memory"]["deserved"] == pytest.approx(64e9 / 2**20)
    assert created["totalResources"]["gpuQuota"] == 6
    assert admin.get(f"{DEPARTMENTS}/{created['id']}").json() == created
    assert admin.get(f"{DEPARTMENTS}/count").json() == {"count": 4}
    event = AuditEvent.objects.get(action="create", object_type="department")
    assert (event.actor, event.object_name) == ("root", "research")


def test_projects_may_not_deserve_more_than_their_department(admin, org, quota_d1):
    ok = send(admin, "post", PROJECTS, {"name": "vision", "clusterId": str(org.c1.pk), "parentId": str(org.d1.pk),
                                        "resources": [gpu(3)]})  # fmt: skip
    assert ok.status_code == 201, ok.content
    assert ok.json()["parentId"] == str(org.d1.pk) and ok.json()["requestedNamespace"] == "runai-vision"
    too_much = {"name": "speech", "clusterId": str(org.c1.pk), "parentId": str(org.d1.pk), "resources": [gpu(2)]}
    refused(send(admin, "post", PROJECTS, too_much), 400, "resources[0].gpu.deserved")
    assert not Project.objects.filter(name="speech").exists()
    # Raising an existing project past the department is refused as well, and changes nothing.
    vision = Project.objects.get(name="vision")
    refused(send(admin, "put", f"{PROJECTS}/{vision.pk}", {"resources": [gpu(5)]}), 400, "resources[0].gpu.deserved")
    assert Quota.objects.get(project=vision).gpu_deserved == 3


def test_over_subscription_when_the_setting_allows_it(admin, org, quota_d1, settings):
    settings.TESSERA_ALLOW_OVERSUBSCRIPTION = True
    body = {"name": "big", "clusterId": str(org.c1.pk), "parentId": str(org.d1.pk), "resources": [gpu(10)]}
    assert send(admin, "post", PROJECTS, body).status_code == 201


def test_a_department_cannot_deserve_less_than_its_projects(admin, org, quota_d1):
    Quota.objects.create(node_pool=quota_d1, project=org.p1, gpu_deserved=3)
    refused(send(admin, "put", f"{DEPARTMENTS}/{org.d1.pk}", {"resources": [gpu(2)]}), 400, "resources[0].gpu.deserved")
    assert Quota.objects.get(department=org.d1).gpu_deserved == 4
    response = send(admin, "put", f"{DEPARTMENTS}/{org.d1.pk}", {"description": "more", "resources": [gpu(6)]})
    assert response.status_code == 200 and response.json()["description"] == "more"
    assert AuditEvent.objects.filter(action="update", object_type="department", object_id=str(org.d1.pk)).exists()


@pytest.mark.parametrize(
    "resources, field",
    [
        ([gpu(4, limit=2)], "resources[0].gpu.limit"),
        ([gpu(4, limit=-5)], "resources[0].gpu.limit"),
        ([gpu(-1)], "resources[0].gpu.deserved"),
        ([{"gpu": {"deserved": "4"}}], "resources[0].gpu.deserved"),
        ([{"gpu": {"deserved": True}}], "resources[0].gpu.deserved"),
        ([gpu(1, pool="nowhere")], "resources[0].nodePool"),
        ([{"nodePool": {"id": "999999"}, "gpu": {"deserved": 1}}], "resources[0].nodePool"),
        ([gpu(1), gpu(1)], "resources[1].nodePool"),
        ([{"gpu": {"deserved": 1}, "tpu": {}}], "resources[0].tpu"),
        ([{"memory": {"deserved": 1, "units": "furlongs"}}], "resources[0].memory.units"),
    ],
)
def test_bad_quotas_are_refused_naming_the_field_and_nothing_is_stored(admin, org, resources, field):
    body = {"name": "bad", "clusterId": str(org.c1.pk), "resources": resources}
    refused(send(admin, "post", DEPARTMENTS, body), 400, field)
    assert not Department.objects.filter(name="bad").exists() and not Quota.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"clusterId": "c"}, "name"),
        ({"name": "Not_A_Name"}, "name"),
        ({"name": "x", "clusterId": "not-a-uuid"}, "clusterId"),
        ({"name": "x", "clusterId": "00000000-0000-0000-0000-000000000000"}, "clusterId"),
        ({"name": "x", "parentId": "999999"}, "parentId"),
        ({"name": "x", "parentId": None}, "parentId"),  # c1 has no default department to fall back to
        ({"name": "x", "requestedNamespace": "elsewhere"}, "requestedNamespace"),
        ({"name": "x", "quota": 3}, "quota"),
    ],
)
def test_bad_project_requests_are_refused_naming_the_field(admin, org, body, field):
    body = {"clusterId": str(org.c1.pk), "parentId": str(org.d1.pk), **body}
    refused(send(admin, "post", PROJECTS, body), 400, field)
    assert Project.objects.count() == 4


def test_a_duplicate_name_is_a_conflict(admin, org):
    refused(send(admin, "post", DEPARTMENTS, {"name": "d1", "clusterId": str(org.c1.pk)}), 409, "Cluster 'c1'")
    # The same name on another cluster is another department.
    assert send(admin, "post", DEPARTMENTS, {"name": "d1", "clusterId": str(org.c2.pk)}).status_code == 201


def test_deleting_what_is_still_in_use_is_a_conflict(admin, org):
    refused(admin.delete(f"{DEPARTMENTS}/{org.d1.pk}"), 409, "Department 'd1' still has projects")
    refused(admin.delete(f"{PROJECTS}/{org.p1.pk}"), 409, "Project 'p1' has workloads")
    empty = Project.objects.create(cluster=org.c2, department=org.d3, name="empty")
    assert admin.delete(f"{PROJECTS}/{empty.pk}").status_code == 204
    lonely = Department.objects.create(cluster=org.c2, name="lonely")
    assert admin.delete(f"{DEPARTMENTS}/{lonely.pk}").status_code == 204
    assert not Department.objects.filter(pk=lonely.pk).exists()
    assert AuditEvent.objects.filter(action="delete", object_type="project", object_name="empty").exists()


def test_a_department_administrator_shapes_only_his_department(make_user, org):
    client = client_for(make_user("dana", DEPARTMENT_ADMIN, "department", org.d1.pk))
    mine = {"name": "mine", "clusterId": str(org.c1.pk), "parentId": str(org.d1.pk)}
    assert send(client, "post", PROJECTS, mine).status_code == 201
    theirs = {"name": "theirs", "clusterId": str(org.c1.pk), "parentId": str(org.d2.pk)}
    refused(send(client, "post", PROJECTS, theirs), 400, "parentId")  # d2 is not even visible to her
    assert send(client, "put", f"{DEPARTMENTS}/{org.d1.pk}", {"description": "ours"}).status_code == 200
    # Her role updates departments but neither creates nor deletes them.
    refused(send(client, "post", DEPARTMENTS, {"name": "new", "clusterId": str(org.c1.pk)}), 403, "You may not")
    refused(client.delete(f"{DEPARTMENTS}/{org.d1.pk}"), 403, "You may not")
    assert client.get(f"{DEPARTMENTS}/{org.d2.pk}").status_code == 404
    assert {d["name"] for d in client.get(DEPARTMENTS).json()["departments"]} == {"d1"}
    assert client.get(f"{PROJECTS}/count").json() == {"count": 3}  # p1, p2 and hers


def test_researchers_and_viewers_change_no_organisation(make_user, org):
    for name, role in (("rita", L1_RESEARCHER), ("vic", VIEWER)):
        client = client_for(make_user(name, role, "project", org.p1.pk))
        assert client.get(f"{PROJECTS}/{org.p1.pk}").status_code == 200
        refused(send(client, "put", f"{PROJECTS}/{org.p1.pk}", {"description": "x"}), 403, "You may not")
        refused(client.delete(f"{PROJECTS}/{org.p1.pk}"), 403, "You may not")
        body = {"name": "sneaky", "clusterId": str(org.c1.pk), "parentId": str(org.d1.pk)}
        refused(send(client, "post", PROJECTS, body), 403, "You may not")
        assert client.get(f"{PROJECTS}/{org.p3.pk}").status_code == 404
    assert not Project.objects.filter(name="sneaky").exists()
    assert AuditEvent.objects.filter(object_type="endpoint", outcome="failure").count() == 6


def test_an_editor_on_one_cluster_creates_departments_there_only(make_user, org):
    client = client_for(make_user("ed", EDITOR, "cluster", org.c1.pk))
    assert send(client, "post", DEPARTMENTS, {"name": "new", "clusterId": str(org.c1.pk)}).status_code == 201
    refused(send(client, "post", DEPARTMENTS, {"name": "new", "clusterId": str(org.c2.pk)}), 400, "clusterId")
    assert client_for(make_user("nobody")).get(f"{DEPARTMENTS}/count").json() == {"count": 0}


def test_rules_on_a_deleted_unit_go_with_it(admin, org, make_user):
    lonely = Department.objects.create(cluster=org.c2, name="lonely")
    empty = Project.objects.create(cluster=org.c2, department=lonely, name="empty")
    make_user("pat", L1_RESEARCHER, "project", empty.pk)
    make_user("dan", DEPARTMENT_ADMIN, "department", lonely.pk)
    assert admin.delete(f"{PROJECTS}/{empty.pk}").status_code == 204
    assert admin.delete(f"{DEPARTMENTS}/{lonely.pk}").status_code == 204
    assert not AccessRule.objects.filter(subject_id__in=["pat", "dan"]).exists()
    response = admin.get("/api/v1/authorization/access-rules")
    assert response.status_code == 200 and response.json()["totalRecords"] == 1  # root's own
