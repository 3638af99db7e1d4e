"""/api/v1/nodes shows what is cordoned, drained and unhealthy, in Run:ai's ``Node`` shape: a
cordoned node carries Kubernetes' ``node.kubernetes.io/unschedulable`` NoSchedule taint, a
drained one also ``tessera.io/draining`` NoExecute; a GPU the agent found faulty is a
``GpuUnhealthy`` condition; and each GPU's own health and cordon is in ``gpuInfo.gpus``. The
list and each node's own page (``/api/v1/nodes/{id}``) agree, Run:ai's client reads them, and the
API schema says what they mean."""

import json

import pytest
from runai.models.node import Node as RunaiNode

from agent.protocol import Inventory
from clusters import services
from clusters.models import Node
from tests.accounts.conftest import client_for
from tests.clusters.test_agent_endpoint import INVENTORY

pytestmark = pytest.mark.django_db

SYSADMIN = 1
UNSCHEDULABLE = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
DRAINING = {"key": "tessera.io/draining", "effect": "NoExecute"}


@pytest.fixture
def node():
    new = services.register_cluster("alpha")
    services.record_agent_inventory(new.cluster, INVENTORY)
    return Node.objects.get(cluster=new.cluster, name="node-a")


@pytest.fixture
def admin(make_user):
    return client_for(make_user("root", SYSADMIN))


def post(client, path, body=None):
    response = client.post(path, json.dumps(body or {}), content_type="application/json")
    assert response.status_code == 200, response.content
    return response


def shown(client, node):
    """The node as the list shows it, after checking that its own page shows the same."""
    (listed,) = client.get("/api/v1/nodes").json()["nodes"]
    assert client.get(f"/api/v1/nodes/{node.pk}").json() == listed
    return listed


def gpu_flags(shown_node, index):
    gpu = shown_node["gpuInfo"]["gpus"][index]
    return gpu["cordoned"], gpu["draining"], gpu["healthy"]


def test_a_node_in_service_has_no_taints_or_conditions_and_every_gpu_healthy_and_uncordoned(admin, node):
    seen = shown(admin, node)

    assert (seen["status"], seen["taints"], seen["conditions"]) == ("Ready", [], [])
    assert [gpu["uuid"] for gpu in seen["gpuInfo"]["gpus"]] == [gpu.uuid for gpu in INVENTORY.nodes[0].gpus]
    assert {gpu_flags(seen, i) for i in range(seen["gpuInfo"]["gpuCount"])} == {(False, False, True)}


def test_a_cordoned_node_is_tainted_unschedulable_and_a_drained_one_also_draining(admin, node):
    post(admin, f"/api/v1/nodes/{node.pk}/cordon")
    assert shown(admin, node)["taints"] == [UNSCHEDULABLE]

    post(admin, f"/api/v1/nodes/{node.pk}/cordon", {"drain": True})
    assert shown(admin, node)["taints"] == [UNSCHEDULABLE, DRAINING]

    post(admin, f"/api/v1/nodes/{node.pk}/uncordon")
    assert shown(admin, node)["taints"] == []


def test_a_cordoned_or_drained_gpu_shows_in_the_nodes_gpus_and_leaves_the_node_untainted(admin, node):
    post(admin, f"/api/v1/nodes/{node.pk}/gpus/1/cordon")
    post(admin, f"/api/v1/nodes/{node.pk}/gpus/2/cordon", {"drain": True})

    seen = shown(admin, node)

    assert [gpu_flags(seen, i) for i in (0, 1, 2)] == [(False, False, True), (True, False, True), (True, True, True)]
    assert seen["taints"] == []


def test_a_gpu_the_agent_found_faulty_is_a_condition_of_its_node_with_the_reason(admin, node):
    (reported,) = INVENTORY.nodes
    gpus = [g.model_copy(update={"healthy": False, "health_message": "XID error 79"}) if g.index == 1 else g
            for g in reported.gpus]  # fmt: skip
    services.record_agent_inventory(node.cluster, Inventory(nodes=[reported.model_copy(update={"gpus": gpus})]))

    seen = shown(admin, node)

    assert seen["conditions"] == [
        {"type": "GpuUnhealthy", "reason": "GpuFault", "message": f"GPU 1 ({gpus[1].uuid}): XID error 79"}
    ]
    gpu = seen["gpuInfo"]["gpus"][1]
    assert (gpu["healthy"], gpu["healthMessage"]) == (False, "XID error 79")
    assert seen["status"] == "Ready", "one faulty GPU does not take the node out of service"


def test_runais_client_reads_a_drained_node_with_a_faulty_gpu(admin, node):
    (reported,) = INVENTORY.nodes
    gpus = [g.model_copy(update={"healthy": False, "health_message": "ECC"}) if g.index == 0 else g
            for g in reported.gpus]  # fmt: skip
    services.record_agent_inventory(node.cluster, Inventory(nodes=[reported.model_copy(update={"gpus": gpus})]))
    post(admin, f"/api/v1/nodes/{node.pk}/cordon", {"drain": True})

    parsed = RunaiNode.from_dict(shown(admin, node))

    assert [(t.key, t.effect) for t in parsed.taints] == [
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ("tessera.io/draining", "NoExecute"),
    ]
    assert [(c.type, c.reason) for c in parsed.conditions] == [("GpuUnhealthy", "GpuFault")]


def test_a_node_not_visible_to_the_caller_has_no_page(make_user, node):
    nobody = client_for(make_user("nobody"))

    assert nobody.get(f"/api/v1/nodes/{node.pk}").status_code == 404
    assert nobody.get("/api/v1/nodes/999999").status_code == 404


def test_the_api_schema_describes_a_nodes_taints_conditions_and_gpus_and_a_pools_compute_mode(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]

    node = schema["paths"]["/api/v1/nodes/{node_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert node["schema"] == {"$ref": "#/components/schemas/NodeResponse"}
    assert "node.kubernetes.io/unschedulable" in components["NodeTaintResponse"]["properties"]["key"]["description"]
    assert set(components["NodeConditionResponse"]["required"]) == {"type", "reason", "message"}
    gpu = components["NodeGpuResponse"]["properties"]
    assert {"healthy", "cordoned", "draining"} <= set(gpu)
    mode = components["NodePoolResponse"]["properties"]["gpuComputeMode"]
    assert "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE" in mode["description"]


def test_a_node_shows_the_cpu_and_memory_its_agent_reports(admin, node):
    assert shown(admin, node)["cpuInfo"] == {"cores": None, "memory": None}  # INVENTORY reports none

    reported = INVENTORY.nodes[0].model_copy(update={"cpu_milli": 64500, "memory_mib": 524288})
    services.record_agent_inventory(node.cluster, Inventory(nodes=[reported]))

    assert shown(admin, node)["cpuInfo"] == {"cores": 64.5, "memory": "524288Mi"}
    page = admin.get(f"/clusters/{node.cluster_id}/").content.decode()
    assert "64.5 CPU cores, 524288 MiB of memory" in page
