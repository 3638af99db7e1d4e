"""Node pools reach the cluster's agent: every full desired state carries each pool with the
names of its nodes (the control plane resolves the pools' labels) and its placement strategy;
within a second of a change (a pool created, changed or deleted, a node's labels changed) the
connected agent gets them all again; agents older than node pools never see the field. Every
workload tells the agent its node pools, in order of preference."""

import json

import pytest
from channels.db import database_sync_to_async

from agent.protocol import DesiredStateMessage, HelloMessage, Inventory, InventoryMessage, dump_message, parse_message
from clusters import pools, services
from clusters.models import Node, NodePool
from clusters.pools import PoolSettings
from tests.accounts.conftest import client_for
from tests.clusters.test_agent_endpoint import INVENTORY, communicator, desired_at_hello, receive, say_hello
from tests.clusters.test_queue_push import async_run
from workloads import services as workload_services
from workloads.models import Workload

pytestmark = pytest.mark.django_db(transaction=True)

BY_RACK = PoolSettings(label_key="rack", label_value="r1", gpu_placement="spread", cpu_placement="binpack")


@pytest.fixture
def registered():
    new = services.register_cluster("alpha")
    project = services.ensure_default_organisation(new.cluster)
    return new.cluster, new.token, project


def pool_nodes(message: DesiredStateMessage) -> dict[str, list[str]]:
    return {pool.name: pool.nodes for pool in message.node_pools or []}


def test_the_full_desired_state_carries_each_pool_with_its_nodes_and_placement(registered):
    cluster, token, _ = registered
    pools.create_pool(cluster, "rack-one", BY_RACK, by="test")

    desired = async_run(lambda: desired_at_hello(cluster, token))
    # node-a reported itself at hello, unlabelled: the default pool takes it.
    assert pool_nodes(desired) == {"default": ["node-a"], "rack-one": []}
    (rack,) = [pool for pool in desired.node_pools if pool.name == "rack-one"]
    assert (rack.gpu_placement, rack.cpu_placement) == ("spread", "binpack")


def change_within_a_second(cluster, token, change):
    """Connect, make ``change`` once the agent is greeted, and return the next message it gets."""

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        await database_sync_to_async(change)()
        delta = parse_message(await comm.receive_from(timeout=1), "control")
        await comm.disconnect()
        return delta

    delta = async_run(scenario)
    assert isinstance(delta, DesiredStateMessage) and delta.full is False and delta.workloads == []
    return delta


def test_a_pool_taking_the_node_by_its_name_reaches_the_agent_within_a_second(registered):
    cluster, token, _ = registered
    by_name = PoolSettings(pools.HOSTNAME_LABEL, "node-a", "binpack", "spread")

    delta = change_within_a_second(cluster, token, lambda: pools.create_pool(cluster, "mine", by_name, by="test"))

    assert pool_nodes(delta) == {"default": [], "mine": ["node-a"]}
    assert [pool.cpu_placement for pool in delta.node_pools if pool.name == "mine"] == ["spread"]


def test_a_new_placement_strategy_reaches_the_agent_though_no_node_moves(registered):
    cluster, token, _ = registered
    default = NodePool.objects.get(cluster=cluster, name="default")
    spread = PoolSettings("", "", gpu_placement="spread", cpu_placement="binpack")

    delta = change_within_a_second(cluster, token, lambda: pools.update_pool(default, spread, by="test"))

    assert [(p.name, p.nodes, p.gpu_placement) for p in delta.node_pools] == [("default", ["node-a"], "spread")]


def test_a_node_whose_reported_labels_change_moves_pool_and_the_agent_hears_it(registered):
    cluster, token, _ = registered
    pools.create_pool(cluster, "rack-one", BY_RACK, by="test")
    (node,) = INVENTORY.nodes
    labelled = Inventory(nodes=[node.model_copy(update={"labels": {"rack": "r1"}})])

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        await comm.send_to(text_data=dump_message(InventoryMessage(seq=2, inventory=labelled)))
        first, second = await receive(comm), await receive(comm)
        await comm.disconnect()
        return first, second

    first, second = async_run(scenario)
    (delta,) = [m for m in (first, second) if isinstance(m, DesiredStateMessage)]
    assert pool_nodes(delta) == {"default": [], "rack-one": ["node-a"]}
    assert Node.objects.get(cluster=cluster, name="node-a").labels == {"rack": "r1"}


def test_a_deleted_pool_gives_its_node_back_to_the_default_pool_at_the_agent(registered):
    cluster, token, _ = registered
    pool = pools.create_pool(cluster, "mine", PoolSettings(pools.HOSTNAME_LABEL, "node-a", "binpack", "binpack"), "t")

    delta = change_within_a_second(cluster, token, lambda: pools.delete_pool(pool))

    assert pool_nodes(delta) == {"default": ["node-a"]}


def test_an_agent_older_than_node_pools_gets_neither_pools_nor_a_workloads_pools_or_tool_ports(registered):
    cluster, token, project = registered
    hello = json.loads(dump_message(HelloMessage(seq=1, agent_version="0.0.9", inventory=INVENTORY)))
    hello["features"] = ["queues", "workload_types", "cordons"]
    raw = {"spec": {"exposedUrls": [{"container": 8888}]}}
    workload_services.submit_training(workload_services.TrainingRequest(name="w", project=project, raw=raw), None)

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await comm.send_to(text_data=json.dumps(hello))
        await receive(comm)  # welcome
        desired = json.loads(await comm.receive_from(timeout=5))
        await receive(comm)  # ack
        await database_sync_to_async(pools.create_pool)(cluster, "rack-one", BY_RACK, "test")
        nothing_but_queues = parse_message(await comm.receive_from(timeout=1), "control")
        nothing = await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()
        return desired, nothing_but_queues, nothing

    desired, queues_delta, nothing = async_run(scenario)
    assert "node_pools" not in desired
    (workload,) = desired["workloads"]
    assert workload["name"] == "w" and "node_pools" not in workload and "tool_ports" not in workload
    assert queues_delta.queues and queues_delta.node_pools is None
    assert nothing is True


def test_a_workload_gives_its_requests_node_pools_else_the_default_pool(registered, make_user):
    cluster, _, project = registered
    pools.create_pool(cluster, "rack-one", BY_RACK, by="test")
    client = client_for(make_user("root", 1))

    def submit(name, **spec):
        body = {"name": name, "projectId": str(project.pk), "spec": {"command": "true", **spec}}
        return client.post("/api/v1/workloads/trainings", json.dumps(body), content_type="application/json")

    assert submit("ordered", nodePools=["rack-one", "default"]).status_code == 202
    assert submit("plain").status_code == 202
    specs = {w.name: workload_services.workload_spec(w) for w in Workload.objects.filter(project=project)}
    assert specs["ordered"].node_pools == ["rack-one", "default"]
    assert specs["plain"].node_pools == ["default"]
    shown = client.get(f"/api/v1/workloads/{Workload.objects.get(name='ordered').pk}").json()
    assert shown["requestedNodePools"] == ["rack-one", "default"]

    refused = submit("nowhere", nodePools=["rack-two"])
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("spec.nodePools:"), refused.json()
    assert not Workload.objects.filter(name="nowhere").exists()
