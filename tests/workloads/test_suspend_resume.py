"""POST /api/v1/workloads/<trainings|workspaces|distributed>/<id>/suspend and /resume, as Run:ai
has them (inferences cannot be suspended). Suspending takes the workload off the cluster's desired
state and keeps it; resuming puts it back as a new run under the same id. Preempted while running,
a workload is requeued. ``org``: c1 holds d1 (p1, p2) and d2 (p3); c2 holds d3 (p4)."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from accounts.models import AuditEvent
from agent.protocol import LogChunkMessage, WorkloadPhase, WorkloadStatus
from clusters import services as cluster_services
from tests.accounts.conftest import client_for
from tests.clusters.test_agent_endpoint import communicator, receive, say_hello
from workloads import services
from workloads.models import Workload

pytestmark = pytest.mark.django_db

SYSADMIN, L1_RESEARCHER, ML_ENGINEER, VIEWER = 1, 6, 8, 9
TYPES = [("trainings", "Training", 1), ("workspaces", "Workspace", 1), ("distributed", "Distributed", 2)]


def submit(project, name="job", workload_type="Training", workers=1) -> Workload:
    request = services.TrainingRequest(
        name=name, project=project, raw={}, command="sleep 60", workload_type=workload_type, workers=workers
    )
    return services.submit_training(request, None)


def report(workload: Workload, phase: WorkloadPhase, **fields) -> bool:
    status = WorkloadStatus(workload_id=fields.pop("agent_id", workload.agent_id), phase=phase, **fields)
    return services.apply_status(workload.cluster, status)


def running(project, **kwargs) -> Workload:
    workload = submit(project, **kwargs)
    report(workload, WorkloadPhase.RUNNING, node="node-a", gpus=["GPU-0"])
    workload.refresh_from_db()
    return workload


def act(client, kind, workload, change):
    return client.post(f"/api/v1/workloads/{kind}/{workload.pk}/{change}")


def desired_ids(workload: Workload) -> list[str]:
    """The ids under which the workload is in its cluster's desired state (none, or its run's)."""
    return [spec.id for spec in services.desired_specs(workload.cluster) if spec.id.startswith(str(workload.pk))]


@pytest.fixture
def researcher(org, make_user):
    return client_for(make_user("rita", L1_RESEARCHER, "project", org.p1.pk))


@pytest.mark.parametrize("kind, workload_type, workers", TYPES)
def test_a_running_workload_is_suspended_kept_and_resumed_as_a_new_run_under_its_id(
    org, researcher, kind, workload_type, workers
):
    workload = running(org.p1, workload_type=workload_type, workers=workers)

    response = act(researcher, kind, workload, "suspend")

    assert response.status_code == 202, response.content
    assert response.json() == {"code": 202, "message": "Workload 'job' is being suspended."}
    workload.refresh_from_db()
    assert (workload.phase, workload.deleted_at) == ("Stopping", None)
    assert desired_ids(workload) == []
    shown = researcher.get(f"/api/v1/workloads/{kind}/{workload.pk}").json()
    assert (shown["desiredPhase"], shown["actualPhase"]) == ("Stopped", "Stopping")

    # The agent stops it and says so: Stopped, and still listed.
    assert report(workload, WorkloadPhase.STOPPED, message="stopped on request", node="node-a")
    workload.refresh_from_db()
    assert (workload.phase, workload.completed_at) == ("Stopped", None)  # suspended, not finished for good
    assert researcher.get("/api/v1/workloads/count", {"filterBy": "name==job"}).json() == {"count": 1}

    response = act(researcher, kind, workload, "resume")

    assert response.status_code == 202, response.content
    assert response.json()["message"] == "Workload 'job' is being resumed."
    workload.refresh_from_db()
    assert (workload.phase, workload.node_name, workload.allocated_gpus) == ("Pending", "", [])
    assert workload.exit_code is None
    assert desired_ids(workload) == [f"{workload.pk}.1"]
    [spec] = [spec for spec in services.desired_specs(org.c1) if spec.name == "job"]
    assert (spec.workload_type, spec.workers) == (workload_type.lower(), workers)
    assert researcher.get(f"/api/v1/workloads/{kind}/{workload.pk}").json()["desiredPhase"] == "Running"
    # It runs again, reported under the new run's id.
    assert report(workload, WorkloadPhase.RUNNING, node="node-a", gpus=["GPU-1"])
    workload.refresh_from_db()
    assert workload.phase == "Running"
    reasons = [e.reason for e in workload.events.all()]
    assert reasons == ["Submitted", "Running", "Suspended", "Stopped", "Resumed", "Running"]
    audited = AuditEvent.objects.filter(object_type="workload", object_id=str(workload.pk)).order_by("pk")
    assert list(audited.values_list("action", flat=True)) == ["suspend", "resume"]


def test_a_pending_workload_is_stopped_at_once_when_suspended(org, researcher):
    workload = submit(org.p1)

    assert act(researcher, "trainings", workload, "suspend").status_code == 202

    workload.refresh_from_db()
    assert (workload.phase, workload.phase_message) == ("Stopped", "suspended")
    assert desired_ids(workload) == []
    # An agent that had just started it meanwhile tells of it running: that does not undo the suspension.
    assert not report(workload, WorkloadPhase.RUNNING, node="node-a")
    workload.refresh_from_db()
    assert workload.phase == "Stopped"


def test_what_an_agent_says_of_a_suspended_workload_before_it_stops(org, researcher):
    workload = running(org.p1)
    act(researcher, "trainings", workload, "suspend")

    assert not report(workload, WorkloadPhase.RUNNING, node="node-a", gpus=["GPU-0"])
    workload.refresh_from_db()
    assert workload.phase == "Stopping"
    # Pending there means not running anywhere: it has stopped.
    assert report(workload, WorkloadPhase.PENDING, message="no GPU free")
    workload.refresh_from_db()
    assert workload.phase == "Stopped"


def test_a_suspended_workload_that_ends_on_its_own_is_finished_not_suspended(org, researcher):
    workload = running(org.p1)
    act(researcher, "trainings", workload, "suspend")

    report(workload, WorkloadPhase.COMPLETED, exit_code=0, message="exit code 0")

    workload.refresh_from_db()
    assert (workload.phase, workload.suspended_at) == ("Completed", None)
    response = act(researcher, "trainings", workload, "resume")
    assert response.status_code == 409
    assert response.json()["message"] == "Workload 'job' is not suspended; only a suspended workload can be resumed."


def test_news_of_an_earlier_run_is_ignored(org, researcher):
    workload = running(org.p1)
    act(researcher, "trainings", workload, "suspend")
    act(researcher, "trainings", workload, "resume")  # while the first run is still stopping

    assert not report(workload, WorkloadPhase.STOPPED, agent_id=str(workload.pk), message="stopped on request")

    workload.refresh_from_db()
    assert (workload.phase, workload.run) == ("Pending", 1)


def test_the_new_run_output_follows_the_earlier_runs_in_the_stored_logs(org, researcher):
    workload = running(org.p1)

    def chunk(agent_id, offset, data):
        message = LogChunkMessage(
            workload_id=agent_id, stream="stdout", offset=offset, size=len(data.encode()), data=data
        )
        return services.append_log(workload.cluster, message)

    assert chunk(str(workload.pk), 0, "epoch 1\n")
    act(researcher, "trainings", workload, "suspend")
    report(workload, WorkloadPhase.STOPPED)
    act(researcher, "trainings", workload, "resume")
    workload.refresh_from_db()

    assert chunk(f"{workload.pk}.1", 0, "epoch 2\n")
    assert not chunk(str(workload.pk), 8, "late\n")  # the earlier run's, after it was replaced

    assert services.read_logs(Workload.objects.get(pk=workload.pk)) == "epoch 1\nepoch 2\n"
    # A reconnecting agent resumes the new run's stream from what it sent.
    assert services.log_offsets(org.c1) == {f"{workload.pk}.1": {"stdout": 8}}


@pytest.mark.parametrize(
    "phase, first, message",
    [
        ("Completed", "suspend", "Workload 'job' has completed; only a pending or running workload can be suspended."),
        ("Failed", "suspend", "Workload 'job' has failed; only a pending or running workload can be suspended."),
        ("Running", "resume", "Workload 'job' is not suspended; only a suspended workload can be resumed."),
        ("Pending", "resume", "Workload 'job' is not suspended; only a suspended workload can be resumed."),
    ],
)
def test_a_change_that_does_not_fit_the_phase_is_a_conflict_and_changes_nothing(org, researcher, phase, first, message):
    workload = submit(org.p1)
    if phase != "Pending":
        report(workload, WorkloadPhase(phase))
    events = workload.events.count()

    response = act(researcher, "trainings", workload, first)

    assert response.status_code == 409, response.content
    assert response.json() == {"code": 409, "message": message}
    assert Workload.objects.get(pk=workload.pk).phase == phase
    assert workload.events.count() == events
    assert not AuditEvent.objects.filter(object_id=str(workload.pk), action__in=["suspend", "resume"]).exists()


def test_suspending_twice_is_a_conflict(org, researcher):
    workload = running(org.p1)
    assert act(researcher, "trainings", workload, "suspend").status_code == 202
    again = act(researcher, "trainings", workload, "suspend")
    assert again.status_code == 409 and again.json()["message"] == "Workload 'job' is already suspended."


def test_a_viewer_may_not_suspend_or_resume_and_nothing_changes(org, make_user):
    workload = running(org.p1)
    viewer = client_for(make_user("vic", VIEWER, "project", org.p1.pk))

    refused = act(viewer, "trainings", workload, "suspend")

    assert refused.status_code == 403
    assert refused.json()["message"] == "You may not update trainings in project 'p1'."
    assert Workload.objects.get(pk=workload.pk).phase == "Running"
    services.suspend_workload(workload)
    assert act(viewer, "trainings", workload, "resume").status_code == 403
    assert Workload.objects.get(pk=workload.pk).suspended_at is not None


def test_a_workload_the_caller_cannot_see_is_not_found(org, make_user):
    elsewhere = running(org.p3)
    outsider = client_for(make_user("rita", L1_RESEARCHER, "project", org.p1.pk))
    assert act(outsider, "trainings", elsewhere, "suspend").status_code == 404
    # An ML engineer serves models: trainings are not his to see under their path.
    engineer = client_for(make_user("mel", ML_ENGINEER, "project", org.p3.pk))
    assert act(engineer, "trainings", elsewhere, "suspend").status_code == 404
    assert Workload.objects.get(pk=elsewhere.pk).phase == "Running"


def test_a_workload_is_suspended_under_its_own_type_only_and_inferences_not_at_all(org, make_user):
    admin = client_for(make_user("root", SYSADMIN))
    training = running(org.p1, name="train")
    inference = running(org.p1, name="serve", workload_type="Inference")
    assert act(admin, "workspaces", training, "suspend").status_code == 404
    assert act(admin, "inferences", inference, "suspend").status_code == 404
    assert Workload.objects.filter(phase="Running").count() == 2
    [shown] = admin.get("/api/v1/workloads", {"filterBy": "type==Inference"}).json()["workloads"]
    assert shown["actionsSupport"] == {"delete": True, "suspend": False}


def test_a_suspended_workload_can_be_deleted(org, researcher):
    workload = running(org.p1)
    act(researcher, "trainings", workload, "suspend")
    assert researcher.delete(f"/api/v1/workloads/trainings/{workload.pk}").status_code == 202
    assert researcher.get("/api/v1/workloads/count", {"filterBy": "name==job"}).json() == {"count": 0}


def test_a_preempted_workload_is_requeued_and_runs_again(org):
    workload = running(org.p1)
    started_at = workload.started_at

    assert report(workload, WorkloadPhase.PENDING, message="Preempted by a higher-priority workload of project p2")

    workload.refresh_from_db()
    assert workload.phase == "Pending"
    assert workload.phase_message == "Preempted by a higher-priority workload of project p2"
    assert (workload.node_name, workload.allocated_gpus) == ("", [])
    assert (workload.started_at, workload.deleted_at, workload.suspended_at) == (started_at, None, None)
    assert desired_ids(workload) == [str(workload.pk)]
    last = workload.events.last()
    assert (last.reason, last.message) == ("Preempted", "Preempted by a higher-priority workload of project p2")
    assert report(workload, WorkloadPhase.RUNNING, node="node-b", gpus=["GPU-3"])
    workload.refresh_from_db()
    assert (workload.phase, workload.node_name) == ("Running", "node-b")


def test_back_to_pending_for_another_reason_is_recorded_as_pending(org):
    workload = running(org.p1)
    report(workload, WorkloadPhase.PENDING, message="the agent lost the process; starting it again")
    workload.refresh_from_db()
    assert workload.phase == "Pending" and workload.events.last().reason == "Pending"


@pytest.mark.django_db(transaction=True)
def test_the_connected_agent_is_told_to_stop_the_run_and_later_to_start_a_new_one():
    registered = cluster_services.register_cluster("alpha")
    project = cluster_services.ensure_default_organisation(registered.cluster)
    workload = running(project)

    async def scenario():
        agent = communicator(registered.cluster, registered.token)
        await agent.connect()
        _, desired = await say_hello(agent)
        assert [w.id for w in desired.workloads] == [str(workload.pk)]
        await database_sync_to_async(services.suspend_workload)(workload)
        removal = await receive(agent)
        assert (removal.full, removal.removed, removal.workloads) == (False, [str(workload.pk)], [])
        await database_sync_to_async(services.resume_workload)(workload)
        start = await receive(agent)
        assert [(w.id, w.name) for w in start.workloads] == [(f"{workload.pk}.1", "job")] and start.removed == []
        await agent.disconnect()
        # A reconnecting agent gets the new run in the full desired state.
        again = communicator(registered.cluster, registered.token)
        await again.connect()
        _, desired = await say_hello(again)
        assert [w.id for w in desired.workloads] == [f"{workload.pk}.1"]
        await again.disconnect()

    async_to_sync(scenario)()


def test_an_eviction_reported_while_it_stops_is_one_preemption_then_a_requeue(org):
    workload = running(org.p1)
    eviction = "Preempted: reclaimed for project p2"

    report(workload, WorkloadPhase.STOPPING, message=eviction, node="node-a", gpus=["GPU-0"])
    report(workload, WorkloadPhase.PENDING, message=eviction)
    report(workload, WorkloadPhase.RUNNING, node="node-a", gpus=["GPU-2"])

    workload.refresh_from_db()
    assert (workload.phase, workload.allocated_gpus, workload.deleted_at) == ("Running", ["GPU-2"], None)
    events = [(e.reason, e.message) for e in workload.events.all()][2:]
    assert events == [("Preempted", eviction), ("Requeued", eviction), ("Running", "Running")]
