"""The public Run:ai client (runapy) against the real server and a real agent: applications,
tokens, access rules, and workloads run, suspended, resumed and deleted through tokens whose
access rules allow exactly that.

runapy speaks plain http on loopback without trouble (``runai_base_url="http://127.0.0.1:PORT"``).
One setting differs from its default: ``auto_refresh_token=False``. runapy's refresher reads the
token's payload with ``base64.b64decode``, but JWTs are base64url (RFC 7515), so a payload that
happens to contain ``-`` or ``_`` would be misread by the client, not refused by us.
"""

import httpx
import pytest
from runai import models
from runai.api_client import ApiClient
from runai.configuration import Configuration
from runai.exceptions import ApiException
from runai.runai_client import RunaiClient

from tests.conftest import ADMIN_PASSWORD, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

L1_RESEARCHER, VIEWER = 6, 9


def runapy(server_url: str, client_id: str, secret: str) -> RunaiClient:
    configuration = Configuration(
        client_id=client_id, client_secret=secret, runai_base_url=server_url, auto_refresh_token=False,
        retry_enabled=False,
    )  # fmt: skip
    return RunaiClient(ApiClient(configuration))


def test_runapy_creates_an_application_and_access_rules_with_its_token(live_server_process, admin_user, cluster):
    _, _, project = cluster
    url = live_server_process.url
    # Bootstrapping: the first administrator makes an application and makes it System administrator.
    with httpx.Client(base_url=url, auth=("admin", ADMIN_PASSWORD), timeout=10) as admin:
        bootstrap = admin.post("/api/v1/apps", json={"name": "bootstrap"}).json()
        rule = {"subjectType": "app", "subjectId": "bootstrap", "roleId": 1, "scopeType": "tenant", "scopeId": "1"}
        assert admin.post("/api/v1/authorization/access-rules", json=rule).status_code == 201
        researcher = admin.post("/api/v1/users", json={"email": "rita@example.com"}).json()

    auth = runapy(url, bootstrap["clientId"], bootstrap["secret"]).authentication_and_authorization
    created = auth.applications.create_application(models.ApplicationCreationRequest(name="ci-pipeline")).data
    assert created["clientId"] == "ci-pipeline" and len(created["secret"]) >= 43
    department = str(project.department_id)
    auth.access_rules.create_access_rule(
        models.AccessRuleCreationFields(
            subject_id="ci-pipeline", subject_type="app", role_id=2, scope_id=department, scope_type="department"
        )
    )

    # The new application signs in with its own secret and manages access in its department.
    ci = runapy(url, created["clientId"], created["secret"]).authentication_and_authorization
    granted = ci.access_rules.create_access_rule(
        models.AccessRuleCreationFields(
            subject_id=researcher["username"], subject_type="user", role_id=6, scope_id=str(project.pk),
            scope_type="project",
        )
    ).data  # fmt: skip
    assert granted["roleName"] == "L1 researcher" and granted["scopeType"] == "project"
    listed = ci.access_rules.get_access_rules(subject_ids=[researcher["username"]]).data
    assert [(r["subjectId"], r["roleId"]) for r in listed["accessRules"]] == [("rita@example.com", 6)]
    seen = {(r["subjectId"], r["scopeType"]) for r in ci.access_rules.get_access_rules().data["accessRules"]}
    assert ("bootstrap", "tenant") not in seen  # an account-wide rule is above its department
    roles = ci.roles.get_roles_v1().data
    assert any(r["name"] == "L2 researcher" for r in roles)

    # No escalation through the client either: the department's admin cannot make a System admin.
    with pytest.raises(ApiException) as refused:
        ci.access_rules.create_access_rule(
            models.AccessRuleCreationFields(
                subject_id="ci-pipeline", subject_type="app", role_id=1, scope_id=department, scope_type="department"
            )
        )
    assert refused.value.status == 403


def application(server_url: str, name: str, role_id: int, project) -> RunaiClient:
    """A new application holding one rule, ``role_id`` in ``project``, signed in through runapy."""
    with httpx.Client(base_url=server_url, auth=("admin", ADMIN_PASSWORD), timeout=10) as admin:
        created = admin.post("/api/v1/apps", json={"name": name}).json()
        rule = {"subjectType": "app", "subjectId": created["clientId"], "roleId": role_id, "scopeType": "project",
                "scopeId": str(project.pk)}  # fmt: skip
        assert admin.post("/api/v1/authorization/access-rules", json=rule).status_code == 201
    return runapy(server_url, created["clientId"], created["secret"])


def phase_reached(client: RunaiClient, workload_id: str, phases: set[str], timeout: float = 30) -> dict:
    def reached() -> dict | None:
        workload = client.workloads.workloads.get_workload(workload_id).data
        return workload if workload["phase"] in phases else None

    return wait_until(reached, timeout=timeout, what=f"workload {workload_id} to reach {phases}")


def logs(server_url: str, client: RunaiClient, workload_id: str) -> str:
    """The workload's output, read with the token runapy signed in with: runapy has no method for
    workload logs, and its generic ``call_api`` reads every answer as JSON, logs are plain text."""
    headers = {"Authorization": client.api_client.default_headers["authorization"]}
    response = httpx.get(f"{server_url}/api/v1/workloads/{workload_id}/logs", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def test_runapy_suspends_a_training_and_resumes_it_under_its_id(live_server_process, admin_user, cluster, agent):
    cluster_obj, _, project = cluster
    url = live_server_process.url
    agent.start()
    trainer = application(url, "trainer", L1_RESEARCHER, project)
    watcher = application(url, "watcher", VIEWER, project)
    spec = models.TrainingSpecSpec(command="echo run started; sleep 300", compute={"gpuDevicesRequest": 1})
    request = models.TrainingCreationRequest(
        name="steady", project_id=str(project.pk), cluster_id=str(cluster_obj.pk), spec=spec
    )

    created = trainer.workloads.trainings.create_training1(request)

    assert created.status_code == 202
    workload_id = created.data["workloadId"]
    phase_reached(trainer, workload_id, {"Running"})
    # A viewer sees it and may not suspend it.
    seen = watcher.workloads.workloads.get_workloads(filter_by=["name==steady"]).data["workloads"]
    assert [w["id"] for w in seen] == [workload_id]
    with pytest.raises(ApiException) as refused:
        watcher.workloads.trainings.suspend_training(workload_id)
    assert refused.value.status == 403

    suspended = trainer.workloads.trainings.suspend_training(workload_id)

    assert suspended.status_code == 202
    stopped = phase_reached(trainer, workload_id, {"Stopped"})
    assert stopped["desiredPhase"] == "Stopped" and stopped["runningPods"] == 0
    # The agent stopped the process and has forgotten its run.
    run_dir = agent.state_dir / "workloads" / workload_id
    wait_until(lambda: not run_dir.exists(), what="the agent to forget the suspended run")
    with pytest.raises(ApiException) as refused:
        watcher.workloads.trainings.resume_training(workload_id)
    assert refused.value.status == 403

    resumed = trainer.workloads.trainings.resume_training(workload_id)

    assert resumed.status_code == 202
    running = phase_reached(trainer, workload_id, {"Running"})
    assert running["id"] == workload_id and running["desiredPhase"] == "Running"
    assert trainer.workloads.trainings.get_training(workload_id).data["actualPhase"] == "Running"
    wait_until(lambda: logs(url, trainer, workload_id).count("run started") == 2, what="the second run's output")
    events = trainer.workloads.events.get_workload_events(workload_id).data["events"]
    assert [e["reason"] for e in events] == ["Submitted", "Running", "Suspended", "Stopped", "Resumed", "Running"]

    # Lists take Run:ai's filters, through runapy.
    workloads = trainer.workloads.workloads
    listed = workloads.get_workloads(filter_by=["phase==Running", "type==Training"], sort_by="name").data
    assert [w["name"] for w in listed["workloads"]] == ["steady"]
    assert workloads.count_workloads(filter_by=["name=^stea"]).data == {"count": 1}
    assert workloads.count_workloads(filter_by=["phase==Stopped"]).data == {"count": 0}

    with pytest.raises(ApiException) as refused:
        watcher.workloads.trainings.delete_training(workload_id)
    assert refused.value.status == 403
    assert trainer.workloads.trainings.delete_training(workload_id).status_code == 202
    wait_until(lambda: not (agent.state_dir / "workloads" / f"{workload_id}.1").exists(), what="the run to end")
    with pytest.raises(ApiException) as gone:
        trainer.workloads.workloads.get_workload(workload_id)
    assert gone.value.status == 404


def test_runapy_runs_a_two_worker_distributed_training(live_server_process, admin_user, cluster, agent):
    cluster_obj, _, project = cluster
    url = live_server_process.url
    agent.start()
    trainer = application(url, "trainer", L1_RESEARCHER, project)
    watcher = application(url, "watcher", VIEWER, project)
    spec = models.DistributedSpecSpec(
        command="echo rank $RANK of $WORLD_SIZE", num_workers=2, distributed_framework="PyTorch",
        compute={"gpuDevicesRequest": 1},
    )  # fmt: skip
    request = models.DistributedCreationRequest(
        name="ddp", project_id=str(project.pk), cluster_id=str(cluster_obj.pk), spec=spec,
        master_spec_same_as_worker=True,
    )  # fmt: skip
    with pytest.raises(ApiException) as refused:
        watcher.workloads.distributed.create_distributed(request)
    assert refused.value.status == 403

    created = trainer.workloads.distributed.create_distributed(request)

    assert created.status_code == 202
    workload_id = created.data["workloadId"]
    final = phase_reached(trainer, workload_id, {"Completed", "Failed"}, timeout=60)
    assert final["phase"] == "Completed", (final, agent.log())
    assert final["type"] == "Distributed" and final["requestedPods"] == {"min": 2, "max": 2}
    assert len(final["allocatedGpuIds"]) == 2  # one device for each worker
    output = wait_until(
        lambda: (text := logs(url, trainer, workload_id)) and "rank 1 of 2" in text and text, what="both workers"
    )
    assert "rank 0 of 2" in output
    shown = trainer.workloads.distributed.get_distributed(workload_id).data
    assert shown["spec"]["numWorkers"] == 2 and shown["actualPhase"] == "Completed"
    assert trainer.workloads.distributed.delete_distributed(workload_id).status_code == 202


def test_runapy_sees_a_preempted_training_requeued_and_running_again(live_server_process, admin_user, cluster, agent):
    cluster_obj, _, project = cluster
    agent.start()
    trainer = application(live_server_process.url, "trainer", L1_RESEARCHER, project)
    every_gpu = {"gpuDevicesRequest": 4}
    low = trainer.workloads.trainings.create_training1(
        models.TrainingCreationRequest(
            name="low", project_id=str(project.pk), cluster_id=str(cluster_obj.pk),
            spec=models.TrainingSpecSpec(command="sleep 300", compute=every_gpu),
        )
    ).data["workloadId"]  # fmt: skip
    phase_reached(trainer, low, {"Running"})

    # A training of a higher priority class needs every device: the lower one yields to it.
    high = trainer.workloads.trainings.create_training1(
        models.TrainingCreationRequest(
            name="high", project_id=str(project.pk), cluster_id=str(cluster_obj.pk),
            spec=models.TrainingSpecSpec(command="sleep 300", compute=every_gpu,
                                         priority_class="interactive-preemptible"),
        )
    ).data["workloadId"]  # fmt: skip

    phase_reached(trainer, high, {"Running"})
    requeued = phase_reached(trainer, low, {"Pending"})
    assert requeued["phaseMessage"].startswith("Preempted"), requeued
    assert requeued["allocatedGpuIds"] == [] and requeued["desiredPhase"] == "Running"
    assert trainer.workloads.trainings.delete_training(high).status_code == 202
    again = phase_reached(trainer, low, {"Running"})
    assert len(again["allocatedGpuIds"]) == 4
    # Its history: preempted (then requeued, when the agent saw it stopping first), and running again.
    reasons = [e["reason"] for e in trainer.workloads.events.get_workload_events(low).data["events"]]
    assert reasons[:3] == ["Submitted", "Running", "Preempted"] and reasons[-1] == "Running", reasons
    assert set(reasons[3:-1]) <= {"Requeued"}, reasons


def test_runapy_suspends_a_distributed_training_and_its_whole_gang_runs_again(
    live_server_process, admin_user, cluster, agent
):
    cluster_obj, _, project = cluster
    url = live_server_process.url
    agent.start()
    trainer = application(url, "trainer", L1_RESEARCHER, project)
    spec = models.DistributedSpecSpec(
        command="echo rank $RANK up; sleep 300", num_workers=2, distributed_framework="PyTorch",
        compute={"gpuDevicesRequest": 2},
    )  # fmt: skip
    distributed = trainer.workloads.distributed
    workload_id = distributed.create_distributed(
        models.DistributedCreationRequest(
            name="gang", project_id=str(project.pk), cluster_id=str(cluster_obj.pk), spec=spec,
            master_spec_same_as_worker=True,
        )
    ).data["workloadId"]  # fmt: skip
    assert len(phase_reached(trainer, workload_id, {"Running"})["allocatedGpuIds"]) == 4

    assert distributed.suspend_distributed(workload_id).status_code == 202
    stopped = phase_reached(trainer, workload_id, {"Stopped"})
    assert (stopped["runningPods"], stopped["allocatedResources"]) == (0, {"gpu": 0})
    assert distributed.resume_distributed(workload_id).status_code == 202

    assert len(phase_reached(trainer, workload_id, {"Running"})["allocatedGpuIds"]) == 4
    output = wait_until(
        lambda: (text := logs(url, trainer, workload_id)).count("rank 1 up") == 2 and text, what="the gang's second run"
    )
    assert output.count("rank 0 up") == 2
    assert distributed.get_distributed(workload_id).data["desiredPhase"] == "Running"
    assert distributed.delete_distributed(workload_id).status_code == 202
