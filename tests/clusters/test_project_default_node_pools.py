"""A project's default node pools (``defaultNodePools``): the pools, in order, that a workload
naming none may use. Set on creation and replaced on update through /api/v1/org-unit/projects;
each must be a pool of the project's cluster, named once; none is the default pool. A workload
is given them when submitted and keeps them; a deleted pool leaves every list."""

import json

import pytest

from clusters import pools
from clusters.models import NodePool, Project
from clusters.pools import PoolSettings
from tests.accounts.conftest import client_for
from workloads import services as workload_services
from workloads.models import Workload

pytestmark = pytest.mark.django_db

SYSADMIN = 1
PROJECTS = "/api/v1/org-unit/projects"
BY_RACK = PoolSettings(label_key="rack", label_value="r1", gpu_placement="binpack", cpu_placement="binpack")


@pytest.fixture
def admin(make_user):
    return client_for(make_user("root", SYSADMIN))


@pytest.fixture
def rack_one(org):
    return pools.create_pool(org.c1, "rack-one", BY_RACK, by="test")


def send(client, method, path, body):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def new_project(admin, org, name, **fields):
    body = {"name": name, "clusterId": str(org.c1.pk), "parentId": str(org.d1.pk), **fields}
    return send(admin, "post", PROJECTS, body)


def submit(admin, project, name, **spec):
    body = {"name": name, "projectId": str(project.pk), "spec": {"command": "true", **spec}}
    response = send(admin, "post", "/api/v1/workloads/trainings", body)
    assert response.status_code == 202, response.content
    return Workload.objects.get(project=project, name=name)


def test_a_project_is_created_with_its_default_node_pools_in_order(admin, org, rack_one):
    created = new_project(admin, org, "racked", defaultNodePools=["rack-one", "default"])

    assert created.status_code == 201, created.content
    assert created.json()["defaultNodePools"] == ["rack-one", "default"]
    shown = admin.get(f"{PROJECTS}/{created.json()['id']}").json()
    assert shown["defaultNodePools"] == ["rack-one", "default"]


def test_a_project_given_none_uses_the_default_pool(admin, org):
    created = new_project(admin, org, "plain")

    assert created.status_code == 201, created.content
    assert created.json()["defaultNodePools"] == ["default"]
    assert Project.objects.get(name="plain").default_node_pools == []


@pytest.mark.parametrize(
    "names, message",
    [
        (["nowhere"], "defaultNodePools: cluster 'c1' has no node pool named 'nowhere'."),
        (["rack-one", "default", "rack-one"], "defaultNodePools: node pool 'rack-one' is named twice."),
        ("rack-one", "defaultNodePools: Expected a list of items"),
        ([5], "defaultNodePools[0]: Not a valid string."),
    ],
)
def test_bad_default_node_pools_are_refused_naming_the_field_and_nothing_is_stored(
    admin, org, rack_one, names, message
):
    refused = new_project(admin, org, "bad", defaultNodePools=names)

    assert refused.status_code == 400, refused.content
    assert refused.json()["message"].startswith(message), refused.json()
    assert not Project.objects.filter(name="bad").exists()
    put = send(admin, "put", f"{PROJECTS}/{org.p1.pk}", {"defaultNodePools": names})
    assert put.status_code == 400 and put.json()["message"].startswith(message), put.content
    assert Project.objects.get(pk=org.p1.pk).default_node_pools == []


def test_a_pool_of_another_cluster_is_not_a_default_node_pool(admin, org):
    pools.create_pool(org.c2, "elsewhere", BY_RACK, by="test")

    refused = new_project(admin, org, "bad", defaultNodePools=["elsewhere"])

    assert refused.status_code == 400
    assert refused.json()["message"] == "defaultNodePools: cluster 'c1' has no node pool named 'elsewhere'."


def test_an_update_replaces_them_and_one_without_them_goes_back_to_the_default_pool(admin, org, rack_one):
    changed = send(admin, "put", f"{PROJECTS}/{org.p1.pk}", {"defaultNodePools": ["rack-one"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["defaultNodePools"] == ["rack-one"]

    cleared = send(admin, "put", f"{PROJECTS}/{org.p1.pk}", {"description": "no pools named"})
    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["defaultNodePools"] == ["default"]


def test_a_workload_naming_no_pool_is_given_its_projects_and_keeps_them(admin, org, rack_one):
    send(admin, "put", f"{PROJECTS}/{org.p1.pk}", {"defaultNodePools": ["rack-one", "default"]})

    plain = submit(admin, org.p1, "plain")
    submit(admin, org.p1, "named", nodePools=["default"])
    send(admin, "put", f"{PROJECTS}/{org.p1.pk}", {"defaultNodePools": ["default"]})
    later = submit(admin, org.p1, "later")

    specs = {w.name: workload_services.workload_spec(w) for w in Workload.objects.filter(project=org.p1)}
    assert specs["plain"].node_pools == ["rack-one", "default"]  # kept after the project changed
    assert specs["named"].node_pools == ["default"]  # its own request wins
    assert specs["later"].node_pools == ["default"]
    assert admin.get(f"/api/v1/workloads/{plain.pk}").json()["requestedNodePools"] == ["rack-one", "default"]
    assert admin.get(f"/api/v1/workloads/{later.pk}").json()["requestedNodePools"] == ["default"]


def test_a_deleted_pool_leaves_every_projects_default_node_pools(org, rack_one):
    Project.objects.filter(pk__in=[org.p1.pk, org.p2.pk]).update(default_node_pools=["rack-one", "default"])
    Project.objects.filter(pk=org.p3.pk).update(default_node_pools=["rack-one"])

    pools.delete_pool(rack_one)

    assert Project.objects.get(pk=org.p1.pk).default_node_pools == ["default"]
    assert Project.objects.get(pk=org.p3.pk).default_node_pools == []
    assert not NodePool.objects.filter(name="rack-one").exists()


def test_a_department_still_takes_the_field_without_acting_on_it(admin, org):
    body = {"name": "dept", "clusterId": str(org.c1.pk), "defaultNodePools": ["anything"]}
    created = send(admin, "post", "/api/v1/org-unit/departments", body)

    assert created.status_code == 201, created.content
    assert created.json()["defaultNodePools"] is None
