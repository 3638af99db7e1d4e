"""Departments and projects reach the cluster's agent as queues: in every full desired state and,
within a second, after each change; agents older than queues never see the field."""

import json

import pytest
from channels.db import database_sync_to_async

from agent.protocol import DesiredStateMessage, HelloMessage, dump_message, parse_message
from agent.protocol.messages import FEATURES
from clusters import org, services
from clusters.models import NodePool
from clusters.org import QuotaInput, Share
from tests.clusters.test_agent_endpoint import INVENTORY, communicator, desired_at_hello, receive, run, say_hello
from workloads import services as workload_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def registered():
    new = services.register_cluster("alpha")
    project = services.ensure_default_organisation(new.cluster)
    return new.cluster, new.token, project


def test_the_full_desired_state_carries_every_queue_with_its_pool_quotas(registered):
    cluster, token, project = registered
    pool = NodePool.objects.get(cluster=cluster, name="default")
    org.update_department(project.department, "", [QuotaInput(pool, "resources[0]", gpu=Share(2, 4, 3))])

    desired = async_run(lambda: desired_at_hello(cluster, token))
    department, default_project = desired.queues
    assert (department.kind, department.name, department.parent) == ("department", "default", None)
    assert [(p.node_pool, p.gpu.deserved, p.gpu.limit, p.gpu.over_quota_weight) for p in department.pools] == [
        ("default", 2, 4, 3)
    ]
    assert department.pools[0].cpu is None  # no CPU quota was given
    assert (default_project.kind, default_project.parent) == ("project", str(project.department_id))


def test_a_quota_change_reaches_the_connected_agent_within_a_second(registered):
    cluster, token, project = registered
    pool = NodePool.objects.get(cluster=cluster, name="default")

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        change = [QuotaInput(pool, "resources[0]", gpu=Share(1.5))]
        await database_sync_to_async(org.update_department)(project.department, "", change)
        delta = parse_message(await comm.receive_from(timeout=1), "control")
        await comm.disconnect()
        return delta

    delta = async_run(scenario)
    assert isinstance(delta, DesiredStateMessage) and delta.full is False and delta.workloads == []
    assert {q.name: [p.gpu.deserved for p in q.pools] for q in delta.queues if q.kind == "department"} == {
        "default": [1.5]
    }


def test_an_agent_older_than_queues_gets_none(registered):
    cluster, token, project = registered
    hello = json.loads(dump_message(HelloMessage(seq=1, agent_version="0.0.9", inventory=INVENTORY)))
    del hello["features"]
    pool = NodePool.objects.get(cluster=cluster, name="default")

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await comm.send_to(text_data=json.dumps(hello))
        await receive(comm)  # welcome
        desired = json.loads(await comm.receive_from(timeout=5))
        await receive(comm)  # ack
        await database_sync_to_async(org.update_department)(
            project.department, "", [QuotaInput(pool, "resources[0]", gpu=Share(1))]
        )
        nothing = await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()
        return desired, nothing

    desired, nothing = async_run(scenario)
    assert desired["type"] == "desired_state" and "queues" not in desired
    assert nothing is True


def async_run(scenario):
    result = {}

    async def capture():
        result["value"] = await scenario()

    run(capture)
    return result["value"]


def test_a_fractional_submission_is_not_pushed_to_an_agent_that_runs_whole_gpus(registered):
    cluster, token, project = registered

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm, features=[f for f in FEATURES if f != "gpu_fractions"])
        submit = database_sync_to_async(workload_services.submit_training)
        await submit(workload_services.TrainingRequest(name="half", project=project, raw={}, gpu_portion=0.5), None)
        held_back = await comm.receive_nothing(timeout=0.5)
        whole = await submit(workload_services.TrainingRequest(name="whole", project=project, raw={}), None)
        delta = await receive(comm)
        await comm.disconnect()
        return held_back, delta, whole

    held_back, delta, whole = async_run(scenario)
    assert held_back is True
    assert [w.id for w in delta.workloads] == [str(whole.pk)]
