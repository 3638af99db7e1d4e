"""A workload's ``conditions``, as Run:ai shows them: each with type, status ("True"/"False"),
reason, message and the time it last changed, read from what the agent reported: submitted,
scheduled or why not (the scheduler's reason, or the preemption that requeued it), running, and
how it ended, was suspended or deleted."""

from datetime import UTC, datetime

import pytest

from agent.protocol import WorkloadPhase, WorkloadStatus
from tests.accounts.conftest import client_for
from workloads import services
from workloads.models import Workload

pytestmark = pytest.mark.django_db

WAITING = "project p1 quota exhausted on pool default, 2/2 GPUs in use"
STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def workload(org):
    return services.submit_training(services.TrainingRequest(name="job", project=org.p1, raw={}), None)


@pytest.fixture
def conditions_of(make_user):
    client = client_for(make_user("root", 1))

    def read(workload: Workload) -> dict[str, dict]:
        response = client.get(f"/api/v1/workloads/{workload.pk}")
        assert response.status_code == 200, response.content
        found = response.json()["conditions"]
        assert all(set(c) == {"type", "status", "reason", "message", "lastTransitionTime"} for c in found)
        return {c["type"]: c for c in found}

    return read


def report(workload: Workload, phase: WorkloadPhase, message: str = "", **fields) -> None:
    status = WorkloadStatus(workload_id=workload.agent_id, phase=phase, message=message, **fields)
    assert services.apply_status(workload.cluster, status)


def test_a_waiting_workload_is_submitted_and_not_scheduled_with_the_schedulers_reason(workload, conditions_of):
    report(workload, WorkloadPhase.PENDING, WAITING)

    conditions = conditions_of(workload)

    assert list(conditions) == ["Submitted", "Scheduled"]
    assert conditions["Submitted"]["status"] == "True"
    scheduled = conditions["Scheduled"]
    assert (scheduled["status"], scheduled["reason"], scheduled["message"]) == ("False", "Unschedulable", WAITING)
    assert scheduled["lastTransitionTime"] is not None


def test_a_running_workload_is_scheduled_on_its_node_and_running(workload, conditions_of):
    report(workload, WorkloadPhase.RUNNING, node="node-a", gpus=["GPU-0"], started_at=STARTED)

    conditions = conditions_of(workload)

    assert [(kind, c["status"]) for kind, c in conditions.items()] == [
        ("Submitted", "True"),
        ("Scheduled", "True"),
        ("Running", "True"),
    ]
    assert conditions["Scheduled"]["message"] == "node-a"
    assert conditions["Scheduled"]["lastTransitionTime"].startswith("2026-01-02T03:04:05")


def test_a_preempted_workload_is_no_longer_scheduled_nor_running_and_says_why(workload, conditions_of):
    report(workload, WorkloadPhase.RUNNING, node="node-a", gpus=["GPU-0"], started_at=STARTED)
    preempted = "Preempted: reclaimed by project p2 for big"
    report(workload, WorkloadPhase.PENDING, preempted)

    conditions = conditions_of(workload)

    assert (conditions["Scheduled"]["status"], conditions["Scheduled"]["reason"]) == ("False", "Preempted")
    assert (conditions["Running"]["status"], conditions["Running"]["reason"]) == ("False", "Pending")
    assert conditions["Running"]["message"] == preempted


@pytest.mark.parametrize("phase", [WorkloadPhase.COMPLETED, WorkloadPhase.FAILED])
def test_an_ended_workload_has_its_outcome_as_a_condition(workload, conditions_of, phase):
    report(workload, WorkloadPhase.RUNNING, node="node-a", started_at=STARTED)
    report(workload, phase, "exit code 3" if phase is WorkloadPhase.FAILED else "", exit_code=0)

    conditions = conditions_of(workload)

    assert conditions[phase.value]["status"] == "True"
    assert conditions["Running"]["status"] == "False"
    assert WorkloadPhase.COMPLETED.value not in conditions or WorkloadPhase.FAILED.value not in conditions


def test_a_suspended_workload_says_so(workload, conditions_of):
    services.suspend_workload(workload)

    conditions = conditions_of(Workload.objects.get(pk=workload.pk))

    assert conditions["Suspended"]["status"] == "True"
    assert "Running" not in conditions, "it never ran"
