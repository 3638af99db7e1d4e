"""Cordoning and draining nodes and GPUs through /api/v1/nodes/{id}/cordon: who may, bad input,
and the cordons reaching the cluster's agent (at once, and in every full desired state); the
agent's inventory updates (a GPU turned unhealthy) are stored."""

import json

import pytest
from channels.db import database_sync_to_async

from accounts.models import AuditEvent
from agent.protocol import CordonSpec, DesiredStateMessage, InventoryMessage, dump_message, parse_message
from clusters import services
from clusters.models import Gpu, Node
from tests.accounts.conftest import client_for
from tests.clusters.test_agent_endpoint import INVENTORY, communicator, receive, run, say_hello

pytestmark = pytest.mark.django_db(transaction=True)

SYSADMIN, VIEWER = 1, 9


@pytest.fixture
def node():
    new = services.register_cluster("alpha")
    services.record_agent_inventory(new.cluster, INVENTORY)
    node = Node.objects.select_related("cluster").get(cluster=new.cluster, name="node-a")
    node.token = new.token
    return node


@pytest.fixture
def admin(make_user):
    return client_for(make_user("root", SYSADMIN))


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def test_an_administrator_cordons_a_node_and_lifts_the_cordon(admin, node):
    response = post(admin, f"/api/v1/nodes/{node.pk}/cordon")

    assert response.status_code == 200, response.content
    assert (response.json()["cordoned"], response.json()["draining"]) == (True, False)
    assert services.cluster_cordons(node.cluster_id) == [CordonSpec(target="node", name="node-a")]
    assert AuditEvent.objects.filter(action="cordon", object_type="node", object_name="node-a").exists()

    response = post(admin, f"/api/v1/nodes/{node.pk}/uncordon")

    assert response.json()["cordoned"] is False
    assert services.cluster_cordons(node.cluster_id) == []


def test_draining_a_gpu_cordons_it_and_asks_for_its_workloads_to_stop(admin, node):
    response = post(admin, f"/api/v1/nodes/{node.pk}/gpus/2/cordon", {"drain": True})

    assert response.status_code == 200, response.content
    (gpu,) = [g for g in response.json()["gpus"] if g["cordoned"]]
    assert (gpu["index"], gpu["uuid"], gpu["draining"], gpu["healthy"]) == (2, "SIM-2", True, True)
    assert services.cluster_cordons(node.cluster_id) == [CordonSpec(target="device", name="SIM-2", drain=True)]


def test_a_drain_flag_that_is_not_a_boolean_is_refused_naming_the_field(admin, node):
    response = post(admin, f"/api/v1/nodes/{node.pk}/cordon", {"drain": "perhaps"})

    assert response.status_code == 400
    assert response.json()["message"].startswith("drain:")
    assert Node.objects.get(pk=node.pk).cordoned is False


def test_an_unknown_node_or_gpu_is_not_found(admin, node):
    assert post(admin, "/api/v1/nodes/999999/cordon").status_code == 404
    assert post(admin, f"/api/v1/nodes/{node.pk}/gpus/7/cordon").status_code == 404


def test_a_viewer_may_not_cordon(make_user, node):
    viewer = client_for(make_user("val", VIEWER))

    response = post(viewer, f"/api/v1/nodes/{node.pk}/cordon")

    assert response.status_code == 403
    assert Node.objects.get(pk=node.pk).cordoned is False


def test_a_cordon_reaches_the_connected_agent_and_every_later_full_desired_state(node):
    async def scenario():
        comm = communicator(node.cluster, node.token)
        await comm.connect()
        _, first = await say_hello(comm)
        await database_sync_to_async(services.set_cordon)(node, True, True)
        delta = parse_message(await comm.receive_from(timeout=1), "control")
        await comm.disconnect()
        again = communicator(node.cluster, node.token)
        await again.connect()
        _, full = await say_hello(again)
        await again.disconnect()
        return first, delta, full

    result = {}

    async def capture():
        result["value"] = await scenario()

    run(capture)
    first, delta, full = result["value"]
    assert first.cordons == []
    assert isinstance(delta, DesiredStateMessage) and delta.full is False
    assert delta.cordons == [CordonSpec(target="node", name="node-a", drain=True)]
    assert full.cordons == delta.cordons


def test_an_inventory_update_marks_a_gpu_unhealthy_with_the_reason(node):
    nodes = INVENTORY.nodes
    faulty = nodes[0].model_copy(
        update={
            "gpus": [
                g.model_copy(update={"healthy": False, "health_message": "XID error 79"}) if g.index == 1 else g
                for g in nodes[0].gpus
            ]
        }
    )

    async def scenario():
        comm = communicator(node.cluster, node.token)
        await comm.connect()
        await say_hello(comm)
        await comm.send_to(text_data=dump_message(InventoryMessage(seq=2, inventory={"nodes": [faulty]})))
        ack = await receive(comm)
        await comm.disconnect()
        return ack

    result = {}

    async def capture():
        result["value"] = await scenario()

    run(capture)
    assert result["value"].ack_seq == 2
    gpu = Gpu.objects.get(node=node, index=1)
    assert (gpu.healthy, gpu.health_message) == (False, "XID error 79")
    assert Gpu.objects.get(node=node, index=0).healthy is True
