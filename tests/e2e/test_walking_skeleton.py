"""A training submitted over HTTP runs as a process under a real agent and is watched to its end."""

import pytest

from tests.conftest import wait_until
from tests.e2e.conftest import wait_for_phase

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def submit(http, project, name: str, command: str, gpus: int = 0, env: dict | None = None) -> dict:
    spec = {"image": "python:3.11", "command": command, "compute": {"gpuDevicesRequest": gpus}}
    if env:
        spec["environmentVariables"] = [{"name": k, "value": v} for k, v in env.items()]
    response = http.post("/api/v1/workloads/trainings", json={"name": name, "projectId": str(project.pk), "spec": spec})
    assert response.status_code == 202, response.text
    return response.json()


def test_agent_registers_its_cluster_with_simulated_gpus(http, cluster, agent, live_server_process):
    cluster_obj = cluster[0]
    agent.start()

    def connected() -> dict | None:
        listed = {c["uuid"]: c for c in http.get("/api/v1/clusters").json()}
        entry = listed.get(str(cluster_obj.pk))
        return entry if entry and entry["status"]["state"] == "Connected" else None

    entry = wait_until(connected, what="the agent to connect")
    assert entry["simulated"] is True
    assert http.get("/healthz").json()["agentConnected"] is True
    projects = http.get("/api/v1/org-unit/projects").json()["projects"]
    assert any(p["name"] == "default" and p["clusterId"] == str(cluster_obj.pk) for p in projects)
    page = http.get("/workloads/", auth=None, follow_redirects=True)
    assert "Sign in" in page.text  # pages need a session


def test_training_runs_to_completion_with_its_output_stored(http, cluster, agent):
    _, _, project = cluster
    agent.start()
    training = submit(
        http, project, "hello", "echo hello from tessera; echo devices=$CUDA_VISIBLE_DEVICES; echo oops >&2", gpus=2
    )
    assert training["actualPhase"] == "Pending"

    final = wait_for_phase(http, training["workloadId"], {"Completed", "Failed"})

    assert final["phase"] == "Completed", (final, agent.log())
    assert final["exitCode"] == 0
    assert len(final["allocatedGpuIds"]) == 2
    stdout = wait_until(
        lambda: (
            (text := http.get(f"/api/v1/workloads/{training['workloadId']}/logs?stream=stdout").text)
            and "devices=" in text
            and text
        ),
        what="stdout to be stored",
    )
    assert "hello from tessera" in stdout
    assert "devices=0,1" in stdout
    assert wait_until(lambda: "oops" in http.get(f"/api/v1/workloads/{training['workloadId']}/logs?stream=stderr").text)
    # Once the final status and every log byte are acknowledged, the agent forgets the record.
    record = agent.state_dir / "workloads" / training["workloadId"]
    wait_until(lambda: not record.exists(), what="the agent to forget the finished workload")
    reasons = [e["reason"] for e in http.get(f"/api/v1/workloads/{training['workloadId']}/events").json()["events"]]
    assert reasons[0] == "Submitted" and "Running" in reasons and reasons[-1] == "Completed"


def test_failing_command_ends_failed_with_its_exit_code(http, cluster, agent):
    _, _, project = cluster
    agent.start()
    training = submit(http, project, "fails", "echo about to fail; exit 3")

    final = wait_for_phase(http, training["workloadId"], {"Completed", "Failed"})

    assert final["phase"] == "Failed"
    assert final["exitCode"] == 3
    assert "3" in final["phaseMessage"]


def test_killed_agent_readopts_its_running_workload_without_running_it_twice(http, cluster, agent, tmp_path):
    _, _, project = cluster
    marker = tmp_path / "runs.txt"
    agent.start()
    training = submit(
        http, project, "survivor", f"echo started >> {marker}; sleep 4; echo finished", env={"MARKER": str(marker)}
    )
    wait_for_phase(http, training["workloadId"], {"Running"})

    agent.kill()
    agent.start()
    final = wait_for_phase(http, training["workloadId"], {"Completed", "Failed"}, timeout=40)

    assert final["phase"] == "Completed", (final, agent.log())
    assert marker.read_text().splitlines() == ["started"]
    assert wait_until(lambda: "finished" in http.get(f"/api/v1/workloads/{training['workloadId']}/logs").text)
