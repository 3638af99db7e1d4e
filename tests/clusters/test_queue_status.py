"""The scheduler's fair share per department and project and node pool: the agent reports it on
its websocket (``queue_status``), the control plane keeps the last report, and the API shows it in
Run:ai's ``status.nodePoolQuotaStatuses`` beside the quotas."""

import json

import pytest

from agent.protocol import QueuePoolStatus, QueueStatusMessage, dump_message
from clusters import queue_status, services
from clusters.models import Department, NodePool, Project, QueueStatus
from tests.accounts.conftest import client_for
from tests.clusters.test_agent_endpoint import communicator, receive, run, say_hello


def figure(unit, pool: str, fair_share: float, allocated: float, over_quota: bool = False) -> QueuePoolStatus:
    kind = "department" if isinstance(unit, Department) else "project"
    return QueuePoolStatus(
        queue_id=str(unit.pk),
        kind=kind,
        node_pool=pool,
        fair_share_gpus=fair_share,
        allocated_gpus=allocated,
        over_quota=over_quota,
    )


@pytest.fixture
def lab():
    """A registered cluster with its default department and project, and a second project."""
    new = services.register_cluster("lab")
    project = services.ensure_default_organisation(new.cluster)
    other = Project.objects.create(cluster=new.cluster, department=project.department, name="speech")
    return new.cluster, new.token, project, other


def report(cluster, token, *messages) -> list:
    """Connect as the cluster's agent, send each message, and return what answered each."""
    answers = []

    async def scenario():
        comm = communicator(cluster, token)
        assert (await comm.connect())[0]
        await say_hello(comm)
        for seq, message in enumerate(messages, start=2):
            await comm.send_to(text_data=dump_message(message.model_copy(update={"seq": seq})))
            answers.append(await receive(comm))
        await comm.disconnect()

    run(scenario)
    return answers


def stored() -> dict:
    return {
        (status.project.name if status.project else status.department.name, status.node_pool.name): (
            status.fair_share,
            status.allocated,
            status.over_quota,
        )
        for status in QueueStatus.objects.select_related("project", "department", "node_pool")
    }


@pytest.mark.django_db(transaction=True)
def test_the_agents_figures_are_kept_and_each_report_replaces_the_last(lab):
    cluster, token, project, other = lab
    department = project.department
    first = QueueStatusMessage(
        queues=[
            figure(department, "default", 4, 4),
            figure(project, "default", 2.5, 3, over_quota=True),
            figure(other, "default", 1.5, 1),
            figure(other, "no-such-pool", 1, 1),  # a pool deleted since: left out
        ]
    )
    # Project speech ended its work; a project the control plane does not know is left out.
    second = QueueStatusMessage(
        queues=[
            figure(department, "default", 2.5, 2),
            figure(project, "default", 2.5, 2),
            QueuePoolStatus(
                queue_id="999",
                kind="project",
                node_pool="default",
                fair_share_gpus=1,
                allocated_gpus=1,
                over_quota=False,
            ),
        ]
    )

    [ack] = report(cluster, token, first)
    assert ack.type == "ack" and ack.ack_seq == 2
    assert stored() == {
        (department.name, "default"): (4, 4, False),
        (project.name, "default"): (2.5, 3, True),
        ("speech", "default"): (1.5, 1, False),
    }

    report(cluster, token, second)
    assert stored() == {(department.name, "default"): (2.5, 2, False), (project.name, "default"): (2.5, 2, False)}


@pytest.mark.django_db(transaction=True)
def test_a_malformed_report_is_answered_with_an_error_naming_the_field_and_nothing_is_stored(lab):
    cluster, token, project, _ = lab
    entry = {"queue_id": str(project.pk), "kind": "project", "node_pool": "default", "fair_share_gpus": -1,
             "allocated_gpus": 0, "over_quota": False}  # fmt: skip
    bad = json.dumps({"v": 1, "seq": 2, "type": "queue_status", "queues": [entry]})
    answers = []

    async def scenario():
        comm = communicator(cluster, token)
        assert (await comm.connect())[0]
        await say_hello(comm)
        await comm.send_to(text_data=bad)
        answers.append(await receive(comm))
        await comm.disconnect()

    run(scenario)
    [error] = answers
    assert error.type == "error" and "queues.0.fair_share_gpus" in error.message
    assert not QueueStatus.objects.exists()


@pytest.mark.django_db
def test_the_api_shows_the_fair_share_per_node_pool_in_the_units_status(admin_user, lab):
    cluster, _, project, other = lab
    a100 = NodePool.objects.create(cluster=cluster, name="a100", label_key="gpu", label_value="a100")
    default = cluster.node_pools.get(name="default")
    reported = QueueStatusMessage(
        queues=[
            figure(project.department, "default", 4, 3),
            figure(project, "default", 2.5, 3, over_quota=True),
            figure(project, "a100", 1, 0),
        ]
    )
    queue_status.record(cluster, reported)
    client = client_for(admin_user)

    body = client.get(f"/api/v1/org-unit/projects/{project.pk}").json()

    statuses = {entry["nodePoolName"]: entry for entry in body["status"]["nodePoolQuotaStatuses"]}
    assert statuses["default"] == {
        "nodePoolId": str(default.pk),
        "nodePoolName": "default",
        "allocated": {"gpus": 3},
        "fairShare": {"gpus": 2.5},
        "overQuota": True,
    }
    assert statuses["a100"]["fairShare"] == {"gpus": 1} and statuses["a100"]["nodePoolId"] == str(a100.pk)
    assert body["status"]["quotaStatus"] == {"allocated": {"gpus": 3}}
    assert body["status"]["lastUpdatedTime"].endswith("Z")
    assert body["status"]["phase"] == "Ready"

    # Nothing reported of project speech yet: Run:ai's empty objects, not zeros.
    listed = client.get("/api/v1/org-unit/projects").json()["projects"]
    speech = next(p for p in listed if p["id"] == str(other.pk))
    assert speech["status"]["nodePoolQuotaStatuses"][0]["fairShare"] == {}
    assert speech["status"]["nodePoolQuotaStatuses"][0]["overQuota"] is None
    assert speech["status"]["quotaStatus"] == {"allocated": {}}

    department = client.get(f"/api/v1/org-unit/departments/{project.department.pk}").json()
    default_status = next(e for e in department["status"]["nodePoolQuotaStatuses"] if e["nodePoolName"] == "default")
    assert default_status["fairShare"] == {"gpus": 4} and default_status["allocated"] == {"gpus": 3}
