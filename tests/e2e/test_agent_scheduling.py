"""The agent's scheduler end to end: a real server, a real agent process, trainings over HTTP.

A preemptible low-priority training holding every GPU is preempted by a higher-priority one in
the same project, shows as Pending "Preempted..." through the API, and runs again to completion
under the same id once the GPUs are free. With quotas set through the API, a project under its
quota reclaims GPUs from one over it.
"""

from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.e2e.conftest import wait_for_phase

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def gated(gate: Path, label: str) -> str:
    """Print ``label``, then wait for ``gate`` to exist (a minute at most) and succeed."""
    return f"echo {label}; i=0; while [ ! -e {gate} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"


def submit(http, project_id: str, name: str, command: str, **spec: object) -> str:
    body = {"name": name, "projectId": project_id, "spec": {"command": command, **spec}}
    response = http.post("/api/v1/workloads/trainings", json=body)
    assert response.status_code == 202, response.text
    return response.json()["workloadId"]


def workload(http, workload_id: str) -> dict:
    return http.get(f"/api/v1/workloads/{workload_id}").json()


def test_a_preempted_training_waits_as_preempted_and_completes_later_with_the_same_id(http, cluster, agent, tmp_path):
    project = str(cluster[2].pk)
    agent.start()
    all_gpus = {"compute": {"gpuDevicesRequest": 4}}
    low = submit(http, project, "low", gated(tmp_path / "low-done", "low run"), priorityClass="train", **all_gpus)
    wait_for_phase(http, low, {"Running"})
    wait_until(lambda: "low run" in http.get(f"/api/v1/workloads/{low}/logs?stream=stdout").text, what="low's output")

    high = submit(
        http, project, "high", gated(tmp_path / "high-done", "high run"),
        priorityClass="build", preemptibility="preemptible", **all_gpus,
    )  # fmt: skip
    wait_for_phase(http, high, {"Running"})

    preempted = workload(http, low)
    assert preempted["phase"] == "Pending", (preempted, agent.log())
    assert preempted["phaseMessage"].startswith("Preempted: preempted by high (priority 100)")
    reasons = [e["reason"] for e in http.get(f"/api/v1/workloads/{low}/events").json()["events"]]
    assert "Preempted" in reasons

    (tmp_path / "high-done").touch()
    assert wait_for_phase(http, high, {"Completed", "Failed"})["phase"] == "Completed"
    wait_for_phase(http, low, {"Running"})
    (tmp_path / "low-done").touch()

    final = wait_for_phase(http, low, {"Completed", "Failed"})
    assert final["phase"] == "Completed", (final, agent.log())
    output = wait_until(
        lambda: (text := http.get(f"/api/v1/workloads/{low}/logs?stream=stdout").text).count("low run") == 2 and text,
        what="both runs of the low-priority training in its log",
    )
    assert output.count("low run") == 2


def test_an_under_quota_project_reclaims_gpus_from_an_over_quota_one_with_quotas_set_through_the_api(
    http, cluster, agent, tmp_path
):
    _, _, default_project = cluster
    cluster_id, department = str(default_project.cluster_id), default_project.department_id

    def quota(gpus: int) -> list[dict]:
        return [{"nodePool": {"name": "default"}, "gpu": {"deserved": gpus, "limit": -1, "overQuotaWeight": 1}}]

    assert http.put(f"/api/v1/org-unit/departments/{department}", json={"resources": quota(4)}).status_code == 200
    projects = {}
    for name in ("vision", "speech"):
        body = {"name": name, "clusterId": cluster_id, "parentId": str(department), "resources": quota(2)}
        response = http.post("/api/v1/org-unit/projects", json=body)
        assert response.status_code == 201, response.text
        projects[name] = str(response.json()["id"])
    agent.start()
    two_gpus = {"compute": {"gpuDevicesRequest": 2}}
    vision = [submit(http, projects["vision"], f"v{i}", gated(tmp_path / "done", f"v{i}"), **two_gpus) for i in (1, 2)]
    for workload_id in vision:
        wait_for_phase(http, workload_id, {"Running"})

    speech = submit(http, projects["speech"], "s1", gated(tmp_path / "done", "s1"), **two_gpus)
    wait_for_phase(http, speech, {"Running"})

    phases = {w: workload(http, w) for w in vision}
    (evicted,) = [w for w, body in phases.items() if body["phase"] == "Pending"]
    assert phases[evicted]["phaseMessage"].startswith("Preempted: reclaimed by project speech for s1"), phases
    assert [body["phase"] for w, body in phases.items() if w != evicted] == ["Running"]
    (tmp_path / "done").touch()
