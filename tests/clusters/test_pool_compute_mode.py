"""A node pool's GPU compute mode (``gpuComputeMode``): how GPU fractions on its MPS nodes share
a device's compute, ``strict`` (each capped at its portion) or ``fair`` (time-sliced, the
default). It is set and read through /api/v1/node-pools, a bad value is refused naming the field
with nothing stored, and the cluster's agent hears it with the pools, unless it is older than the
setting: then its pools come without it."""

import json

import pytest
from channels.db import database_sync_to_async

from agent.protocol import HelloMessage, dump_message
from agent.protocol.messages import FEATURES
from clusters import pools, services
from clusters.models import NodePool
from clusters.pools import PoolSettings, assign_nodes
from tests.accounts.conftest import client_for
from tests.clusters.test_agent_endpoint import INVENTORY, communicator, desired_at_hello, receive
from tests.clusters.test_node_pool_push import change_within_a_second
from tests.clusters.test_queue_push import async_run

SYSADMIN = 1
POOLS = "/api/v1/node-pools"


def send(client, method, path, body):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def admin(make_user):
    return client_for(make_user("root", SYSADMIN))


@pytest.fixture
def default_pool(org):
    """c1's default pool, which every cluster has once its nodes are assigned."""
    assign_nodes(org.c1)
    return NodePool.objects.get(cluster=org.c1, name="default")


@pytest.fixture
def registered():
    new = services.register_cluster("alpha")
    services.ensure_default_organisation(new.cluster)
    return new.cluster, new.token


@pytest.mark.django_db
def test_a_pool_is_fair_unless_made_strict_and_shows_its_mode(admin, org, default_pool):
    cluster = str(org.c1.pk)
    fair = send(admin, "post", POOLS, {"name": "fair", "clusterId": cluster, "labelKey": "gpu", "labelValue": "t4"})
    body = {"name": "strict", "clusterId": cluster, "labelKey": "gpu", "labelValue": "h100", "gpuComputeMode": "strict"}
    strict = send(admin, "post", POOLS, body)

    assert fair.status_code == strict.status_code == 201, (fair.content, strict.content)
    assert fair.json()["gpuComputeMode"] == "fair" and strict.json()["gpuComputeMode"] == "strict"
    assert admin.get(f"{POOLS}/{strict.json()['id']}").json()["gpuComputeMode"] == "strict"
    listed = {pool["name"]: pool["gpuComputeMode"] for pool in admin.get(POOLS).json()["nodepools"]}
    assert listed == {"default": "fair", "fair": "fair", "strict": "strict"}

    # The default pool may be made strict too; a PUT (a whole update) without the field makes it fair.
    changed = send(admin, "put", f"{POOLS}/{default_pool.pk}", {"gpuComputeMode": "strict"})
    assert changed.status_code == 200 and changed.json()["gpuComputeMode"] == "strict"
    assert NodePool.objects.get(pk=default_pool.pk).gpu_compute_mode == "strict"
    assert send(admin, "put", f"{POOLS}/{default_pool.pk}", {}).json()["gpuComputeMode"] == "fair"


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["exclusive", "STRICT", "", None, 1, ["strict"]])
def test_a_bad_compute_mode_is_refused_naming_the_field_and_nothing_is_stored(admin, org, default_pool, mode):
    body = {"name": "new", "clusterId": str(org.c1.pk), "labelKey": "gpu", "labelValue": "h100", "gpuComputeMode": mode}
    created = send(admin, "post", POOLS, body)
    updated = send(admin, "put", f"{POOLS}/{default_pool.pk}", {"gpuComputeMode": mode, "labelKey": ""})

    for response in (created, updated):
        assert response.status_code == 400, response.content
        assert response.json()["message"].startswith("gpuComputeMode"), response.json()
    assert not NodePool.objects.filter(name="new").exists()
    assert NodePool.objects.get(pk=default_pool.pk).gpu_compute_mode == "fair"


STRICT_DEFAULT = PoolSettings("", "", "binpack", "binpack", gpu_compute_mode="strict")


@pytest.mark.django_db(transaction=True)
def test_the_agent_gets_each_pools_compute_mode_at_hello_and_within_a_second_of_a_change(registered):
    cluster, token = registered
    pools.create_pool(cluster, "rack-one", PoolSettings("rack", "r1", "binpack", "binpack", "strict"), by="test")

    desired = async_run(lambda: desired_at_hello(cluster, token))
    assert {pool.name: pool.gpu_compute_mode for pool in desired.node_pools} == {
        "default": "fair",
        "rack-one": "strict",
    }

    default = NodePool.objects.get(cluster=cluster, name="default")
    delta = change_within_a_second(cluster, token, lambda: pools.update_pool(default, STRICT_DEFAULT, by="test"))
    assert {pool.name: pool.gpu_compute_mode for pool in delta.node_pools} == {
        "default": "strict",
        "rack-one": "strict",
    }


@pytest.mark.django_db(transaction=True)
def test_an_agent_older_than_pool_compute_modes_gets_its_pools_without_one(registered):
    cluster, token = registered
    default = NodePool.objects.get(cluster=cluster, name="default")
    hello = json.loads(dump_message(HelloMessage(seq=1, agent_version="0.0.9", inventory=INVENTORY)))
    hello["features"] = [feature for feature in FEATURES if feature != "pool_compute_mode"]

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await comm.send_to(text_data=json.dumps(hello))
        await receive(comm)  # welcome
        desired = json.loads(await comm.receive_from(timeout=5))
        await receive(comm)  # ack
        await database_sync_to_async(pools.update_pool)(default, STRICT_DEFAULT, "test")
        queues = json.loads(await comm.receive_from(timeout=1))
        nothing = await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()
        return desired, queues, nothing

    # The raw frames: an older agent refuses a field it does not know.
    desired, queues, nothing = async_run(scenario)
    assert desired["node_pools"] == [{"name": "default", "nodes": ["node-a"], "gpu_placement": "binpack",
                                      "cpu_placement": "binpack"}]  # fmt: skip
    # The mode changed, but nothing this agent reads: it gets the queues (sent on every pool
    # change) and no pools.
    assert "queues" in queues and "node_pools" not in queues and nothing is True
    assert NodePool.objects.get(pk=default.pk).gpu_compute_mode == "strict"
