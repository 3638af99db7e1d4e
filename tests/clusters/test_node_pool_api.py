"""Node pools through /api/v1/node-pools and nodes through /api/v1/nodes: a default pool always
exists, each node is in exactly one pool (by label or name), and only those with the rule change
pools. ``org``: c1 holds d1 (p1, p2) and d2 (p3); c2 holds d3 (p4)."""

import json

import pytest

from accounts.models import AuditEvent
from clusters.models import Node, NodePool, Quota
from clusters.pools import assign_nodes
from tests.accounts.conftest import client_for

pytestmark = pytest.mark.django_db

SYSADMIN, EDITOR, L1_RESEARCHER = 1, 4, 6
POOLS = "/api/v1/node-pools"


def send(client, method, path, body):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def refused(response, status, field):
    assert response.status_code == status, response.content
    assert response.json()["message"].startswith(field), response.json()


@pytest.fixture
def nodes(org):
    """c1 has three nodes: two labelled gpu=a100 (one of them also rack=r1) and one unlabelled."""
    made = {
        "n1": Node.objects.create(cluster=org.c1, name="n1", labels={"gpu": "a100", "rack": "r1"}),
        "n2": Node.objects.create(cluster=org.c1, name="n2", labels={"gpu": "a100"}),
        "n3": Node.objects.create(cluster=org.c1, name="n3"),
    }
    assign_nodes(org.c1)
    return made


@pytest.fixture
def admin(make_user):
    return client_for(make_user("root", SYSADMIN))


def pool_of(name):
    return Node.objects.get(name=name).node_pool.name


def test_nodes_move_into_the_pool_that_selects_them_and_back_when_it_goes(admin, org, nodes):
    assert {pool_of(n) for n in nodes} == {"default"}
    body = {"name": "a100", "clusterId": str(org.c1.pk), "labelKey": "gpu", "labelValue": "a100",
            "placementStrategy": {"gpu": "spread", "cpu": "binpack"}}  # fmt: skip
    response = send(admin, "post", POOLS, body)
    assert response.status_code == 201, response.content
    pool = response.json()
    assert pool["placementStrategy"] == {"gpu": "spread", "cpu": "binpack"} and pool["isDefault"] is False
    assert sorted(pool["status"]["nodes"]) == ["n1", "n2"] and pool["phase"] == "Ready"
    # A pool by name, created later, does not take a node an older pool already has.
    by_name = {"name": "n3-only", "clusterId": str(org.c1.pk), "labelKey": "kubernetes.io/hostname", "labelValue": "n3"}
    assert send(admin, "post", POOLS, by_name).status_code == 201
    assert [pool_of(n) for n in ("n1", "n2", "n3")] == ["a100", "a100", "n3-only"]
    nodes_seen = {n["name"]: n["nodePool"] for n in admin.get("/api/v1/nodes").json()["nodes"]}
    assert nodes_seen == {"n1": "a100", "n2": "a100", "n3": "n3-only"}
    # Narrowing the selector hands n2 back to the default pool.
    update = {"labelKey": "rack", "labelValue": "r1", "placementStrategy": {"gpu": "binpack"}}
    assert send(admin, "put", f"{POOLS}/{pool['id']}", update).status_code == 200
    assert [pool_of(n) for n in ("n1", "n2")] == ["a100", "default"]
    Quota.objects.create(node_pool_id=pool["id"], department=org.d1, gpu_deserved=1)
    assert admin.delete(f"{POOLS}/{pool['id']}").status_code == 204
    assert pool_of("n1") == "default" and not Quota.objects.exists()
    assert list(AuditEvent.objects.filter(object_type="nodepool").order_by("pk").values_list("action", flat=True)) == [
        "create", "create", "update", "delete"
    ]  # fmt: skip


def test_the_default_pool_always_exists_and_takes_no_label(admin, org, nodes):
    default = NodePool.objects.get(cluster=org.c1, name="default")
    refused(admin.delete(f"{POOLS}/{default.pk}"), 409, "The default node pool cannot be deleted")
    refused(send(admin, "put", f"{POOLS}/{default.pk}", {"labelKey": "gpu", "labelValue": "x"}), 400, "labelKey")
    assert send(admin, "put", f"{POOLS}/{default.pk}", {"placementStrategy": {"gpu": "spread"}}).status_code == 200
    assert NodePool.objects.get(pk=default.pk).gpu_placement == "spread"
    body = {"name": "default", "clusterId": str(org.c1.pk), "labelKey": "a", "labelValue": "b"}
    refused(send(admin, "post", POOLS, body), 409, "Cluster 'c1' already has its default node pool")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"name": "Bad_Name"}, "name"),
        ({"labelKey": ""}, "labelKey"),
        ({"labelValue": None}, "labelValue"),
        ({"clusterId": "00000000-0000-0000-0000-000000000000"}, "clusterId"),
        ({"placementStrategy": {"gpu": "random"}}, "placementStrategy.gpu"),
        ({"overProvisioningRatio": 3}, "overProvisioningRatio"),
        ({"labelValue": "a100", "name": "again"}, "labelValue"),  # another pool already selects gpu=a100
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_pool_requests_are_refused_naming_the_field(admin, org, nodes, change, field):
    NodePool.objects.create(cluster=org.c1, name="a100", label_key="gpu", label_value="a100")
    before = NodePool.objects.count()
    body = {"name": "new", "clusterId": str(org.c1.pk), "labelKey": "gpu", "labelValue": "h100", **change}
    refused(send(admin, "post", POOLS, body), 400, field)
    assert NodePool.objects.count() == before


def test_who_may_see_and_change_pools(make_user, org, nodes):
    pool = NodePool.objects.create(cluster=org.c1, name="a100", label_key="gpu", label_value="a100")
    NodePool.objects.create(cluster=org.c2, name="c2-pool", label_key="gpu", label_value="t4")
    editor = client_for(make_user("ed", EDITOR, "cluster", org.c1.pk))
    assert send(editor, "put", f"{POOLS}/{pool.pk}", {"labelKey": "gpu", "labelValue": "h100"}).status_code == 200
    body = {"name": "more", "clusterId": str(org.c2.pk), "labelKey": "k", "labelValue": "v"}
    refused(send(editor, "post", POOLS, body), 400, "clusterId")  # c2 is not his to see
    researcher = client_for(make_user("rita", L1_RESEARCHER, "project", org.p1.pk))
    # He sees his cluster's pools and nodes, and changes none.
    assert {p["name"] for p in researcher.get(POOLS).json()["nodepools"]} == {"a100", "default"}
    assert researcher.get("/api/v1/nodes/count").json() == {"count": 3}
    refused(send(researcher, "put", f"{POOLS}/{pool.pk}", {"labelKey": "x", "labelValue": "y"}), 403, "You may not")
    refused(researcher.delete(f"{POOLS}/{pool.pk}"), 403, "You may not")
    body = {"name": "mine", "clusterId": str(org.c1.pk), "labelKey": "k", "labelValue": "v"}
    refused(send(researcher, "post", POOLS, body), 403, "You may not")
    assert NodePool.objects.get(pk=pool.pk).label_value == "h100"
    nobody = client_for(make_user("nobody"))
    assert nobody.get(f"{POOLS}/count").json() == {"count": 0} and nobody.get("/api/v1/nodes").json()["nodes"] == []
    assert nobody.get(f"{POOLS}/{pool.pk}").status_code == 404
