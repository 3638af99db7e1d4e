"""The agent's metrics batches through the real agent websocket endpoint: stored once, in bulk."""

import json

import pytest

from agent.protocol import MetricsMessage, dump_message
from tests.clusters.test_agent_endpoint import communicator, make_workload, receive, run, say_hello
from tests.usage.conftest import GIB, at, device, sample, uses
from usage.models import DeviceSample, WorkloadSample

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_metrics_batch_is_acknowledged_and_stored(registered):
    cluster, token, project = registered
    workload = make_workload(project)
    batch = MetricsMessage(
        seq=2,
        samples=[
            sample(
                at(0), [uses(workload, ("SIM-0", 0.5, None, None))], [device("SIM-0", 0, 0.5), device("SIM-1", 1, 0)]
            ),
            sample(
                at(5), [uses(workload, ("SIM-0", 0.5, None, None))], [device("SIM-0", 0, 0.5), device("SIM-1", 1, 0)]
            ),
        ],
    )

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        await comm.send_to(text_data=dump_message(batch))
        ack = await receive(comm)
        assert ack.type == "ack" and ack.ack_seq == 2
        # The same batch again (a resend) is acknowledged and changes nothing.
        await comm.send_to(text_data=dump_message(batch.model_copy(update={"seq": 3})))
        assert (await receive(comm)).ack_seq == 3
        await comm.disconnect()

    run(scenario)
    rows = list(WorkloadSample.objects.filter(workload=workload).order_by("at"))
    assert [(r.at, r.gpu_allocation, r.gpu_devices, r.gpu_memory_used_bytes, r.gpu_utilization) for r in rows] == [
        (at(0), 0.5, 1, None, None),
        (at(5), 0.5, 1, None, None),
    ]
    assert DeviceSample.objects.filter(cluster=cluster).count() == 4
    assert sorted(DeviceSample.objects.filter(at=at(0)).values_list("gpu_uuid", "gpu_allocation")) == [
        ("SIM-0", 0.5),
        ("SIM-1", 0.0),
    ]


def test_a_workload_on_several_devices_is_stored_as_its_totals(registered):
    cluster, token, project = registered
    workload = make_workload(project)
    batch = MetricsMessage(
        seq=2,
        samples=[sample(at(0), [uses(workload, ("GPU-0", 1.0, 10 * GIB, 80.0), ("GPU-1", 1.0, 6 * GIB, 40.0))])],
    )

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        await comm.send_to(text_data=dump_message(batch))
        assert (await receive(comm)).type == "ack"
        await comm.disconnect()

    run(scenario)
    stored = WorkloadSample.objects.get(workload=workload)
    assert (stored.gpu_devices, stored.gpu_allocation, stored.gpu_memory_used_bytes, stored.gpu_utilization) == (
        2,
        2.0,
        16 * GIB,
        60.0,
    )


def test_samples_of_workloads_the_cluster_does_not_run_are_dropped(registered):
    cluster, token, project = registered
    other = make_workload(project, name="elsewhere")
    other.cluster = type(cluster).objects.create(name="other", token_hash="x")
    other.save()
    batch = {
        "v": 1,
        "type": "metrics",
        "seq": 2,
        "samples": [
            {
                "at": at(0).isoformat(),
                "interval_seconds": 5,
                "workloads": [
                    {
                        "workload_id": str(other.pk),
                        "node": "node-a",
                        "devices": [{"gpu_uuid": "SIM-0", "allocation": 1}],
                    },
                    {
                        "workload_id": "not-a-uuid",
                        "node": "node-a",
                        "devices": [{"gpu_uuid": "SIM-1", "allocation": 1}],
                    },
                ],
            }
        ],
    }

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        await comm.send_to(text_data=json.dumps(batch))
        assert (await receive(comm)).type == "ack"
        await comm.disconnect()

    run(scenario)
    assert not WorkloadSample.objects.exists()


def test_a_malformed_batch_is_refused_naming_the_field_and_nothing_is_stored(registered):
    cluster, token, project = registered
    workload = make_workload(project)
    good = MetricsMessage(seq=2, samples=[sample(at(0), [uses(workload, ("SIM-0", 0.5, None, None))])])
    bad = json.loads(dump_message(good))
    bad["samples"][0]["workloads"][0]["devices"][0]["allocation"] = 1.5

    async def scenario():
        comm = communicator(cluster, token)
        await comm.connect()
        await say_hello(comm)
        await comm.send_to(text_data=json.dumps(bad))
        error = await receive(comm)
        assert error.type == "error" and "samples.0.workloads.0.devices.0.allocation" in error.message
        await comm.disconnect()

    run(scenario)
    assert not WorkloadSample.objects.exists()
