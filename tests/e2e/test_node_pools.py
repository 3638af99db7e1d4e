"""Node pools with a real agent: the agent reports its node's labels, a pool created over HTTP
takes the node by its label, and the agent places a workload only in the pools it asks for, or
in its project's default node pools when it asks for none."""

import pytest

from tests.conftest import wait_until
from tests.e2e.conftest import wait_for_phase

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def submit(http, project, name: str, pools: list[str] | None) -> str:
    spec = {"command": "sleep 30", "compute": {"gpuDevicesRequest": 1}}
    if pools is not None:
        spec["nodePools"] = pools
    response = http.post("/api/v1/workloads/trainings", json={"name": name, "projectId": str(project.pk), "spec": spec})
    assert response.status_code == 202, response.text
    return response.json()["workloadId"]


def test_a_workload_runs_only_in_the_pool_that_took_the_agents_node_by_its_label(http, cluster, agent):
    cluster_obj, _, project = cluster
    agent.args += ["--node-label", "rack=r1"]
    agent.start()
    wait_until(
        lambda: http.get(f"/api/v1/clusters/{cluster_obj.pk}").json()["status"]["state"] == "Connected",
        what="the agent to connect",
    )
    body = {"name": "rack-one", "clusterId": str(cluster_obj.pk), "labelKey": "rack", "labelValue": "r1"}
    response = http.post("/api/v1/node-pools", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["status"]["nodes"] == ["e2e-node"]

    in_rack = submit(http, project, "in-rack", ["rack-one"])
    in_default = submit(http, project, "in-default", ["default"])

    running = wait_for_phase(http, in_rack, {"Running", "Failed"})
    assert running["phase"] == "Running", (running, agent.log())
    assert (running["nodeName"], running["currentNodePool"]) == ("e2e-node", "rack-one")
    waiting = wait_until(
        lambda: (b := http.get(f"/api/v1/workloads/{in_default}").json())["phaseMessage"].startswith("no nodes") and b,
        what="the default pool's workload to say why it waits",
    )
    assert waiting["phase"] == "Pending"
    assert waiting["phaseMessage"] == "no nodes in node pool default"

    # The project sends its workloads to the rack by default: one naming no pool runs there.
    changed = http.put(f"/api/v1/org-unit/projects/{project.pk}", json={"defaultNodePools": ["rack-one"]})
    assert changed.status_code == 200, changed.text
    by_default = wait_for_phase(http, submit(http, project, "by-default", None), {"Running", "Failed"})
    assert (by_default["phase"], by_default["currentNodePool"]) == ("Running", "rack-one"), (by_default, agent.log())
    assert by_default["requestedNodePools"] == ["rack-one"]
