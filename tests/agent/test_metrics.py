"""GPU metrics on the agent: what each workload holds and uses on each device, and each device
in all; NVML read through a mock (there is no GPU here); batches with a bounded buffer."""

import asyncio
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from agent.metrics import (
    MetricsSampler,
    MetricsShipper,
    NvmlReader,
    UsageReading,
    device_share,
)
from agent.protocol import (
    GpuDevice,
    Inventory,
    MetricsMessage,
    MetricsSample,
    NodeInventory,
    WorkloadPhase,
    WorkloadSpec,
    WorkloadStatus,
    dump_message,
    parse_message,
)
from agent.protocol.metrics import MAX_SAMPLES_PER_MESSAGE

GIB = 1024**3


class MockNvml:
    """A mock of NVML (there is no GPU here): fixed readings per device and per process."""

    def __init__(self, devices=None, processes=None) -> None:
        self.devices: dict[str, UsageReading] = devices or {}
        self.process_readings: dict[str, dict[int, UsageReading] | None] = processes or {}
        self.asked: list[str] = []

    def device(self, uuid):
        self.asked.append(uuid)
        return self.devices.get(uuid)

    def processes(self, uuid):
        self.asked.append(uuid)
        return self.process_readings.get(uuid, {})

    def close(self):
        pass


def gpus(simulated: bool, count: int = 2, memory_mib: int = 81920) -> list[GpuDevice]:
    prefix = "SIM" if simulated else "GPU"
    return [
        GpuDevice(index=i, uuid=f"{prefix}-{i}", model="m", memory_mib=memory_mib, simulated=simulated)
        for i in range(count)
    ]


def inventory(devices: list[GpuDevice]) -> Inventory:
    return Inventory(nodes=[NodeInventory(name="node-a", simulated=devices[0].simulated, gpus=devices)])


def spec(workload_id: str, **compute) -> WorkloadSpec:
    return WorkloadSpec(
        id=workload_id, name=workload_id, project="p", submitted_at=datetime(2026, 1, 1, tzinfo=UTC), **compute
    )


def running(workload_id: str, *uuids: str) -> WorkloadStatus:
    return WorkloadStatus(workload_id=workload_id, phase=WorkloadPhase.RUNNING, node="node-a", gpus=list(uuids))


def sampler(devices, statuses, specs, reader=None, processes=None) -> MetricsSampler:
    return MetricsSampler(
        lambda: inventory(devices),
        statuses=lambda: {s.workload_id: s for s in statuses},
        specs=lambda: {s.id: s for s in specs},
        processes=processes or (lambda workload_id: None),
        reader=reader,
    )


def test_on_simulated_devices_allocation_is_reported_and_usage_is_left_out():
    take = sampler(
        gpus(simulated=True),
        [running("half", "SIM-0"), running("whole", "SIM-1")],
        [spec("half", gpu_devices=1, gpu_portion=0.5), spec("whole", gpu_devices=1)],
    )

    sample = take.sample(interval_seconds=5)

    by_id = {w.workload_id: w for w in sample.workloads}
    assert [(d.gpu_uuid, d.allocation) for d in by_id["half"].devices] == [("SIM-0", 0.5)]
    assert [(d.gpu_uuid, d.allocation) for d in by_id["whole"].devices] == [("SIM-1", 1.0)]
    for usage in [*by_id["half"].devices, *by_id["whole"].devices, *sample.devices]:
        assert usage.memory_used_bytes is None and usage.utilization_percent is None
    assert [(d.gpu_uuid, d.allocation, d.memory_total_bytes) for d in sample.devices] == [
        ("SIM-0", 0.5, 80 * GIB),
        ("SIM-1", 1.0, 80 * GIB),
    ]
    assert sample.interval_seconds == 5


def test_simulated_devices_are_never_read_through_nvml():
    nvml = MockNvml(devices={"SIM-0": UsageReading(GIB, 50.0)})
    take = sampler(gpus(simulated=True), [running("w", "SIM-0")], [spec("w", gpu_devices=1)], reader=nvml,
                   processes=lambda workload_id: {1})  # fmt: skip

    sample = take.sample(interval_seconds=5)

    assert nvml.asked == []
    assert sample.devices[0].memory_used_bytes is None


def test_a_workload_uses_what_the_processes_of_its_tree_use_on_each_of_its_devices():
    nvml = MockNvml(
        devices={"GPU-0": UsageReading(30 * GIB, 90.0), "GPU-1": UsageReading(4 * GIB, 10.0)},
        processes={
            # 100 and 101 are the workload's; 200 is someone else's on the same device.
            "GPU-0": {
                100: UsageReading(8 * GIB, 30.0),
                101: UsageReading(2 * GIB, 15.0),
                200: UsageReading(20 * GIB, 45.0),
            },
            "GPU-1": {101: UsageReading(4 * GIB, 10.0)},
        },
    )
    take = sampler(
        gpus(simulated=False),
        [running("w", "GPU-0", "GPU-1")],
        [spec("w", gpu_devices=2, gpu_portion=0.25)],
        reader=nvml,
        processes=lambda workload_id: {100, 101} if workload_id == "w" else None,
    )

    sample = take.sample(interval_seconds=2)

    [workload] = sample.workloads
    assert [(d.gpu_uuid, d.allocation, d.memory_used_bytes, d.utilization_percent) for d in workload.devices] == [
        ("GPU-0", 0.25, 10 * GIB, 45.0),
        ("GPU-1", 0.25, 4 * GIB, 10.0),
    ]
    assert [(d.gpu_uuid, d.memory_used_bytes, d.utilization_percent) for d in sample.devices] == [
        ("GPU-0", 30 * GIB, 90.0),
        ("GPU-1", 4 * GIB, 10.0),
    ]


def test_a_workload_with_no_process_on_a_device_uses_nothing_there():
    nvml = MockNvml(devices={"GPU-0": UsageReading(0, 0.0)}, processes={"GPU-0": {}})
    take = sampler(gpus(simulated=False, count=1), [running("w", "GPU-0")], [spec("w", gpu_devices=1)],
                   reader=nvml, processes=lambda workload_id: {100})  # fmt: skip

    [device] = take.sample(interval_seconds=5).workloads[0].devices

    assert (device.memory_used_bytes, device.utilization_percent) == (0, 0.0)


def test_what_nvml_cannot_say_is_left_out_rather_than_guessed():
    no_process_query = MockNvml(devices={"GPU-0": UsageReading(GIB, None)}, processes={"GPU-0": None})
    take = sampler(gpus(simulated=False, count=1), [running("w", "GPU-0")], [spec("w", gpu_devices=1)],
                   reader=no_process_query, processes=lambda workload_id: {100})  # fmt: skip
    sample = take.sample(interval_seconds=5)
    assert sample.workloads[0].devices[0].memory_used_bytes is None
    assert (sample.devices[0].memory_used_bytes, sample.devices[0].utilization_percent) == (GIB, None)

    unknown_processes = sampler(gpus(simulated=False, count=1), [running("w", "GPU-0")], [spec("w", gpu_devices=1)],
                                reader=MockNvml(processes={"GPU-0": {100: UsageReading(GIB, 5.0)}}))  # fmt: skip
    [device] = unknown_processes.sample(interval_seconds=5).workloads[0].devices
    assert (device.allocation, device.memory_used_bytes, device.utilization_percent) == (1.0, None, None)


def test_the_share_of_a_device_is_the_portion_or_the_memory_asked_for_or_all_of_it():
    device = gpus(simulated=True, memory_mib=40960)[0]

    assert device_share(spec("w", gpu_devices=1, gpu_portion=0.3), device) == 0.3
    assert device_share(spec("w", gpu_devices=1, gpu_memory_mib=10240), device) == 0.25
    assert device_share(spec("w", gpu_devices=1, gpu_memory_mib=81920), device) == 1.0
    assert device_share(spec("w", gpu_devices=1), device) == 1.0


def test_only_workloads_holding_devices_with_a_known_request_are_reported():
    finished = WorkloadStatus(workload_id="done", phase=WorkloadPhase.COMPLETED, node="node-a", gpus=["SIM-0"])
    pending = WorkloadStatus(workload_id="waiting", phase=WorkloadPhase.PENDING, message="no room")
    take = sampler(
        gpus(simulated=True),
        [finished, pending, running("adopted", "SIM-1"), running("stopping", "SIM-1")],
        [spec("done", gpu_devices=1), spec("waiting", gpu_devices=1), spec("stopping", gpu_devices=1, gpu_portion=0.5)],
    )

    sample = take.sample(interval_seconds=5)

    # "adopted" runs but its request is not known yet (no desired state since a restart).
    assert [w.workload_id for w in sample.workloads] == ["stopping"]
    assert [d.allocation for d in sample.devices] == [0.0, 0.5]


def test_a_metrics_batch_survives_the_wire():
    take = sampler(gpus(simulated=True), [running("w", "SIM-0")], [spec("w", gpu_devices=1, gpu_portion=0.5)])
    message = MetricsMessage(seq=4, samples=[take.sample(interval_seconds=5), take.sample(interval_seconds=5)])

    assert parse_message(dump_message(message), "agent") == message


def test_a_metrics_message_with_a_bad_field_is_refused_naming_it():
    take = sampler(gpus(simulated=True), [running("w", "SIM-0")], [spec("w", gpu_devices=1)])
    raw = MetricsMessage(samples=[take.sample(interval_seconds=5)]).model_dump(mode="json")
    raw["samples"][0]["devices"][0]["allocation"] = -1

    with pytest.raises(ValueError, match=r"samples\.0\.devices\.0\.allocation"):
        parse_message(json.dumps(raw), "agent")


def test_samples_are_sent_in_batches_oldest_first_and_kept_when_sending_fails():
    take = sampler(gpus(simulated=True), [running("w", "SIM-0")], [spec("w", gpu_devices=1)])
    shipper = MetricsShipper(take, interval=1, batch_seconds=5, max_buffered=1000)
    for _ in range(MAX_SAMPLES_PER_MESSAGE + 3):
        shipper.take_sample()
    sent: list[MetricsMessage] = []

    async def broken(message):
        raise ConnectionError("gone")

    async def working(message):
        sent.append(message)

    with pytest.raises(ConnectionError):
        asyncio.run(shipper.flush(broken))
    assert len(shipper.buffer) == MAX_SAMPLES_PER_MESSAGE + 3

    asyncio.run(shipper.flush(working))

    assert [len(m.samples) for m in sent] == [MAX_SAMPLES_PER_MESSAGE, 3]
    times = [s.at for m in sent for s in m.samples]
    assert times == sorted(times)
    assert not shipper.buffer


class NumberedSampler:
    """Samples one second apart, so each can be told from the others."""

    reader = None

    def __init__(self) -> None:
        self.taken = 0

    def sample(self, interval_seconds):
        self.taken += 1
        return MetricsSample(at=datetime(2026, 1, 1, 0, 0, self.taken, tzinfo=UTC), interval_seconds=interval_seconds)


def test_while_nothing_is_connected_the_buffer_keeps_only_the_newest_samples():
    shipper = MetricsShipper(NumberedSampler(), interval=1, batch_seconds=5, max_buffered=10)

    for _ in range(25):
        shipper.take_sample()

    assert [s.at.second for s in shipper.buffer] == list(range(16, 26))


class MockPynvml:
    """A mock of the nvidia-ml-py module (there is no GPU here), answering as it does on a device
    with two processes, one of which has no memory figure (NVML_VALUE_NOT_AVAILABLE)."""

    NVMLError_NotFound = type("NVMLError_NotFound", (Exception,), {})

    def __init__(self, utilization_samples):
        self.utilization_samples = utilization_samples
        self.asked_since: list[int] = []

    def nvmlDeviceGetHandleByUUID(self, uuid):
        if uuid != "GPU-0":
            raise RuntimeError("no such device")
        return "handle-0"

    def nvmlDeviceGetMemoryInfo(self, handle):
        return SimpleNamespace(used=7 * GIB, total=80 * GIB)

    def nvmlDeviceGetUtilizationRates(self, handle):
        return SimpleNamespace(gpu=63, memory=20)

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        return [SimpleNamespace(pid=100, usedGpuMemory=3 * GIB), SimpleNamespace(pid=101, usedGpuMemory=None)]

    def nvmlDeviceGetProcessUtilization(self, handle, since):
        self.asked_since.append(since)
        if not self.utilization_samples:
            raise self.NVMLError_NotFound()
        return self.utilization_samples.pop(0)


def utilization_sample(pid, time_stamp, sm):
    return SimpleNamespace(pid=pid, timeStamp=time_stamp, smUtil=sm, memUtil=0)


def test_the_nvml_reader_reads_devices_and_processes_as_nvml_answers():
    nvml = MockPynvml([[utilization_sample(100, 10, 40), utilization_sample(100, 20, 60)]])
    reader = NvmlReader(nvml)

    assert reader.device("GPU-0") == UsageReading(7 * GIB, 63.0)
    assert reader.device("GPU-7") is None
    assert reader.processes("GPU-0") == {100: UsageReading(3 * GIB, 50.0), 101: UsageReading(None, 0.0)}
    # The next read asks only for samples newer than those seen; none since means no process ran.
    assert reader.processes("GPU-0") == {100: UsageReading(3 * GIB, 0.0), 101: UsageReading(None, 0.0)}
    assert nvml.asked_since == [0, 20]
