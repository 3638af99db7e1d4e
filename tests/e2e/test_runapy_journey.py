"""An organisation that automates Run:ai with runapy points it at Tessera and it works, from an
empty control plane to finished work: the cluster is created through the client (its agent joins
with the one-time token from the answer), then a department and a project with quotas per node
pool, then each workload type through an application whose access rule allows exactly that.
"""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from runai import models
from runai.exceptions import ApiException

from tests.conftest import ADMIN_PASSWORD, AgentProcess, wait_until
from tests.e2e.test_runapy import L1_RESEARCHER, VIEWER, application, logs, phase_reached, runapy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SYSTEM_ADMINISTRATOR = 1


def gpu_quota(pool: dict, deserved: float, limit: float = -1) -> dict:
    return {"nodePool": {"id": pool["id"], "name": pool["name"]},
            "gpu": {"deserved": deserved, "limit": limit, "overQuotaWeight": 1}}  # fmt: skip


@pytest.fixture
def administrator(live_server_process, admin_user):
    """runapy signed in as an application the first administrator made System administrator."""
    with httpx.Client(base_url=live_server_process.url, auth=("admin", ADMIN_PASSWORD), timeout=10) as admin:
        app = admin.post("/api/v1/apps", json={"name": "automation"}).json()
        rule = {"subjectType": "app", "subjectId": "automation", "roleId": SYSTEM_ADMINISTRATOR,
                "scopeType": "tenant", "scopeId": "1"}  # fmt: skip
        assert admin.post("/api/v1/authorization/access-rules", json=rule).status_code == 201
    return runapy(live_server_process.url, app["clientId"], app["secret"])


def test_from_an_empty_control_plane_to_finished_work_through_runapy(
    live_server_process, administrator, tmp_path, monkeypatch
):
    url = live_server_process.url
    organisation = administrator.organizations

    # The cluster, and its agent joining with the token shown once in the creation's answer.
    created = organisation.clusters.create_cluster(models.ClusterCreationRequest(name="lab", version="2.20")).data
    cluster_id, token = created["uuid"], created["installationInfo"]["clientSecret"]
    (tmp_path / "agent.token").write_text(token)
    monkeypatch.setenv("TESSERA_METRICS_INTERVAL", "0.5")
    monkeypatch.setenv("TESSERA_METRICS_BATCH_SECONDS", "1")
    agent = AgentProcess(
        args=[
            "--server",
            live_server_process.ws_url,
            "--cluster-id",
            cluster_id,
            "--token-file",
            str(tmp_path / "agent.token"),
            "--state-dir",
            str(tmp_path / "state"),
            "--node-name",
            "lab-node",
            "--simulated-gpus",
            "4",
        ],  # fmt: skip
        state_dir=tmp_path / "state",
        log_path=tmp_path / "agent.log",
    ).start()
    try:
        wait_until(
            lambda: organisation.clusters.get_cluster_by_uuid(cluster_id).data["status"]["state"] == "Connected",
            timeout=30,
            what=f"the agent to join\n{agent.log()}",
        )

        # A department and a project with quotas in the default node pool, which every cluster has.
        pools = organisation.node_pools.get_nodepools(filter_by=[f"clusterId=={cluster_id}"]).data["nodepools"]
        default = next(pool for pool in pools if pool["name"] == "default")
        department = organisation.departments.create_department(
            models.DepartmentCreationRequest(name="research", cluster_id=cluster_id, resources=[gpu_quota(default, 4)])
        ).data
        project = organisation.projects.create_project(
            models.ProjectCreationRequest(
                name="vision", cluster_id=cluster_id, parent_id=department["id"], resources=[gpu_quota(default, 3, 4)]
            )
        ).data
        assert project["resources"][0]["gpu"] == {"deserved": 3, "limit": 4, "overQuotaWeight": 1}
        with pytest.raises(ApiException) as too_much:  # more than the department deserves
            organisation.projects.create_project(
                models.ProjectCreationRequest(
                    name="speech", cluster_id=cluster_id, parent_id=department["id"], resources=[gpu_quota(default, 2)]
                )
            )
        assert too_much.value.status == 400

        # A researcher's application submits each workload type; a viewer's may only look.
        scope = SimpleNamespace(pk=project["id"])
        researcher = application(url, "researcher", L1_RESEARCHER, scope)
        viewer = application(url, "viewer", VIEWER, scope)
        workloads = researcher.workloads
        common = {"project_id": project["id"], "cluster_id": cluster_id}
        half = workloads.trainings.create_training1(
            models.TrainingCreationRequest(
                name="half", **common,
                spec=models.TrainingSpecSpec(command="echo half $TESSERA_GPU_PORTION; sleep 4",
                                             compute={"gpuDevicesRequest": 1, "gpuPortionRequest": 0.5}),
            )
        ).data["workloadId"]  # fmt: skip
        notebook = workloads.workspaces.create_workspace1(
            models.WorkspaceCreationRequest(name="notebook", **common,
                                            spec=models.WorkspaceSpecSpec(command="echo notebook; sleep 300"))
        ).data["workloadId"]  # fmt: skip
        serving = workloads.inferences.create_inference1(
            models.InferenceCreationRequest(name="serving", **common,
                                            spec=models.InferenceSpecSpec(command="echo serving"))
        ).data["workloadId"]  # fmt: skip
        gang = workloads.distributed.create_distributed(
            models.DistributedCreationRequest(
                name="gang", **common, master_spec_same_as_worker=True,
                spec=models.DistributedSpecSpec(command="echo rank $RANK of $WORLD_SIZE", num_workers=2,
                                                distributed_framework="PyTorch", compute={"gpuDevicesRequest": 1}),
            )
        ).data["workloadId"]  # fmt: skip
        with pytest.raises(ApiException) as refused:
            viewer.workloads.trainings.create_training1(
                models.TrainingCreationRequest(name="sneaky", **common, spec=models.TrainingSpecSpec(command="true"))
            )
        assert refused.value.status == 403

        # The half-GPU training runs on half a device, and its allocation is measured over time.
        running = phase_reached(researcher, half, {"Running"}, timeout=60)
        assert len(running["allocatedGpuIds"]) == 1
        now = datetime.now(UTC)
        window = {"start": (now - timedelta(minutes=5)).isoformat(), "end": (now + timedelta(minutes=5)).isoformat()}

        def allocation() -> set[str] | None:
            answer = workloads.workloads.get_workload_metrics(
                half, metric_type=["GPU_ALLOCATION"], number_of_samples=10, **window
            ).data
            return {v["value"] for v in answer["measurements"][0]["values"]} or None

        assert wait_until(allocation, timeout=30, what="the half GPU's allocation to be measured") == {"0.5"}

        for workload_id in (half, serving, gang):
            assert phase_reached(researcher, workload_id, {"Completed"}, timeout=60)["phase"] == "Completed"
        assert "half 0.5" in logs(url, researcher, half)
        gang_output = logs(url, researcher, gang)
        assert "rank 0 of 2" in gang_output and "rank 1 of 2" in gang_output
        reasons = [e["reason"] for e in workloads.events.get_workload_events(half).data["events"]]
        assert reasons[0] == "Submitted" and reasons[-1] == "Completed"

        # Lists take Run:ai's filters, and the viewer sees what the researcher made.
        listed = viewer.workloads.workloads.get_workloads(filter_by=[f"projectId=={project['id']}"], sort_by="name")
        assert [w["name"] for w in listed.data["workloads"]] == ["gang", "half", "notebook", "serving"]
        assert workloads.workloads.count_workloads(filter_by=["phase==Completed"]).data == {"count": 3}

        # The workspace is suspended, resumed under its id, and deleted.
        phase_reached(researcher, notebook, {"Running"}, timeout=60)
        assert workloads.workspaces.suspend_workspace(notebook).status_code == 202
        phase_reached(researcher, notebook, {"Stopped"})
        assert workloads.workspaces.resume_workspace(notebook).status_code == 202
        assert phase_reached(researcher, notebook, {"Running"}, timeout=60)["id"] == notebook
        with pytest.raises(ApiException) as refused:
            viewer.workloads.workspaces.delete_workspace(notebook)
        assert refused.value.status == 403
        assert workloads.workspaces.delete_workspace(notebook).status_code == 202
        with pytest.raises(ApiException) as gone:
            workloads.workloads.get_workload(notebook)
        assert gone.value.status == 404
    finally:
        agent.stop()
