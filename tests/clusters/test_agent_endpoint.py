"""The agent websocket endpoint: authentication, validation, level-triggered state, idempotency."""

import json
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from agent.protocol import (
    GpuDevice,
    HelloMessage,
    Inventory,
    LogChunkMessage,
    NodeInventory,
    WorkloadPhase,
    WorkloadStatus,
    WorkloadStatusMessage,
    dump_message,
    parse_message,
)
from clusters import services
from clusters.models import Cluster, ClusterState, NodeStatus
from controlplane.asgi import application
from workloads import services as workload_services
from workloads.models import Workload

pytestmark = pytest.mark.django_db(transaction=True)

INVENTORY = Inventory(
    nodes=[
        NodeInventory(
            name="node-a",
            simulated=True,
            gpus=[
                GpuDevice(index=i, uuid=f"SIM-{i}", model="Simulated GPU", memory_mib=81920, simulated=True)
                for i in range(4)
            ],
        )
    ]
)


@pytest.fixture
def registered():
    new = services.register_cluster("alpha")
    project = services.ensure_default_organisation(new.cluster)
    return new.cluster, new.token, project


def communicator(cluster: Cluster, token: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application,
        f"/agent/v1/clusters/{cluster.pk}/connect",
        headers=[(b"authorization", f"Bearer {token}".encode())],
    )


async def receive(comm: WebsocketCommunicator):
    return parse_message(await comm.receive_from(timeout=5), "control")


async def say_hello(comm: WebsocketCommunicator, workloads=(), features=None):
    """Connect as an agent; ``features`` as an older agent would declare them (default: today's)."""
    extra = {} if features is None else {"features": list(features)}
    await comm.send_to(
        text_data=dump_message(
            HelloMessage(seq=1, agent_version="test", inventory=INVENTORY, workloads=list(workloads), **extra)
        )
    )
    welcome, desired, ack = await receive(comm), await receive(comm), await receive(comm)
    assert ack.type == "ack" and ack.ack_seq == 1
    return welcome, desired


async def desired_at_hello(cluster: Cluster, token: str):
    """The full desired state an agent is sent when it says hello (it then goes)."""
    comm = communicator(cluster, token)
    await comm.connect()
    _, desired = await say_hello(comm)
    await comm.disconnect()
    return desired


def make_workload(project, name="w1") -> Workload:
    return Workload.objects.create(
        name=name, project=project, cluster=project.cluster, command="true", created_at=datetime.now(UTC)
    )


def run(scenario):
    async_to_sync(scenario)()


def test_an_agent_with_a_wrong_token_is_refused_at_the_handshake(registered):
    cluster, _, _ = registered

    async def scenario():
        comm = communicator(cluster, "not-the-token")
        connected, _ = await comm.connect()
        # The refused consumer still waits on its channel layer: let it end, or closing the
        # event loop cancels it mid-read on Redis, which could hang the run.
        await comm.disconnect()
        assert connected is False

    run(scenario)
    assert Cluster.objects.get().state == ClusterState.WAITING_TO_CONNECT


def test_hello_is_answered_with_welcome_and_the_full_desired_state(registered):
    cluster, token, project = registered
    pending = make_workload(project)

    async def scenario():
        comm = communicator(cluster, token)
        assert (await comm.connect())[0]
        welcome, desired = await say_hello(comm)
        assert welcome.type == "welcome" and welcome.cluster_id == str(cluster.pk)
        assert desired.type == "desired_state" and desired.full is True
        assert [w.id for w in desired.workloads] == [str(pending.pk)]
        await comm.disconnect()

    run(scenario)
    cluster.refresh_from_db()
    assert cluster.agent_version == "test"
    [node] = cluster.nodes.all()
    assert node.simulated and node.gpus.count() == 4
    # The connection closed: the cluster is offline again.
    assert cluster.state == ClusterState.DISCONNECTED
    assert node.status == NodeStatus.NOT_READY or cluster.nodes.get().status == NodeStatus.NOT_READY


def test_a_malformed_message_gets_an_error_and_the_connection_survives(registered):
    cluster, token, _ = registered

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        await comm.send_to(text_data='{"v": 1, "type": "workload_status", "seq": 2, "status": {"phase": "Running"}}')
        error = await receive(comm)
        assert error.type == "error" and "status.workload_id" in error.message
        await comm.send_to(text_data="not json at all")
        assert "not valid JSON" in (await receive(comm)).message
        await comm.send_to(text_data=json.dumps({"v": 1, "type": "heartbeat", "seq": 3}))
        ack = await receive(comm)
        assert ack.type == "ack" and ack.ack_seq == 3
        await comm.disconnect()

    run(scenario)


def test_messages_before_hello_are_refused(registered):
    cluster, token, _ = registered

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await comm.send_to(text_data=json.dumps({"v": 1, "type": "heartbeat", "seq": 1}))
        assert (await receive(comm)).message == "send hello first"
        await comm.disconnect()

    run(scenario)


def test_statuses_are_applied_once_and_a_finished_workload_stays_finished(registered):
    cluster, token, project = registered
    workload = make_workload(project)
    wid = str(workload.pk)

    def status(phase, seq, **kw):
        return dump_message(WorkloadStatusMessage(seq=seq, status=WorkloadStatus(workload_id=wid, phase=phase, **kw)))

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        for seq, text in enumerate(
            [
                status(WorkloadPhase.RUNNING, 2, node="node-a", gpus=["SIM-0"]),
                status(WorkloadPhase.COMPLETED, 3, exit_code=0, message="exit code 0"),
                status(WorkloadPhase.COMPLETED, 4, exit_code=0, message="exit code 0"),
                status(WorkloadPhase.RUNNING, 5),
            ],
            start=2,
        ):
            await comm.send_to(text_data=text)
            assert (await receive(comm)).ack_seq == seq
            if seq == 3:  # the first Completed: the workload leaves the desired state
                removal = await receive(comm)
                assert removal.type == "desired_state" and removal.removed == [wid]
        await comm.disconnect()

    run(scenario)
    workload.refresh_from_db()
    assert workload.phase == "Completed" and workload.exit_code == 0
    assert [e.reason for e in workload.events.all()] == ["Running", "Completed"]
    assert workload.started_at and workload.completed_at


def test_log_chunks_are_stored_once_and_reconnection_resumes_from_stored_bytes(registered):
    cluster, token, project = registered
    workload = make_workload(project)
    wid = str(workload.pk)

    def chunk(seq, offset, data):
        return dump_message(
            LogChunkMessage(
                seq=seq, workload_id=wid, stream="stdout", offset=offset, size=len(data.encode()), data=data
            )
        )

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        for seq, offset, data in [(2, 0, "héllo\n"), (3, 0, "héllo\n"), (4, 7, "world\n"), (5, 99, "gap\n")]:
            await comm.send_to(text_data=chunk(seq, offset, data))
            await receive(comm)
        await comm.disconnect()
        again = communicator(cluster, token)
        await again.connect()
        welcome, _ = await say_hello(again)
        assert welcome.log_offsets == {wid: {"stdout": 13}}
        await again.disconnect()

    run(scenario)
    assert workload_services.read_logs(Workload.objects.get(pk=wid)) == "héllo\nworld\n"


def test_a_submission_is_pushed_to_the_connected_agent(registered):
    cluster, token, project = registered

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        _, desired = await say_hello(comm)
        assert desired.workloads == []
        workload = await database_sync_to_async(workload_services.submit_training)(
            workload_services.TrainingRequest(name="pushed", project=project, raw={}, command="true"), None
        )
        delta = await receive(comm)
        assert delta.type == "desired_state" and delta.full is False
        assert [w.id for w in delta.workloads] == [str(workload.pk)]
        await database_sync_to_async(workload_services.delete_workload)(workload)
        removal = await receive(comm)
        assert removal.removed == [str(workload.pk)]
        await comm.disconnect()

    run(scenario)
