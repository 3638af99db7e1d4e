"""The GPU memory watchdog: which workloads it stops and why (a pure decision), and the stop
itself on a real supervised process, with memory figures from a mock NVML (no GPU here)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psutil

from agent.gpu.watchdog import (
    LIMIT_EXCEEDED,
    RECLAIMED,
    DeviceMemory,
    LocalWorkloadProcesses,
    MemoryWatchdog,
    NvmlSampler,
    StopAction,
    WorkloadMemory,
    memory_actions,
    process_tree,
)
from agent.protocol import GpuDevice, WorkloadPhase
from agent.runtime.local.runtime import LocalRuntime
from tests.agent.conftest import make_spec
from tests.agent.mock_nvml import MockDevice, MockNvml
from tests.polling import wait_until

GPU = "GPU-0"


def usage(
    workload_id: str, used: int, request: int, limit: int | None = None, started: float = 0, **kw
) -> WorkloadMemory:
    return WorkloadMemory(
        workload_id=workload_id,
        device=kw.pop("device", GPU),
        used_mib=used,
        request_mib=request,
        limit_mib=request if limit is None else limit,
        started=started,
        **kw,
    )


def device(total: int, used: int) -> dict[str, DeviceMemory]:
    return {GPU: DeviceMemory(total_mib=total, used_mib=used)}


# --- the cap -------------------------------------------------------------------------------------


def test_a_workload_above_its_cap_is_stopped_with_the_amounts():
    actions = memory_actions([usage("a", used=21000, request=20000)], device(80000, 21000))

    assert actions == [StopAction("a", "GPU memory limit exceeded: used 21000 MiB of 20000 MiB")]


def test_a_workload_at_its_cap_or_below_is_left_alone():
    workloads = [usage("a", used=20000, request=20000), usage("b", used=5, request=20000, started=1)]

    assert memory_actions(workloads, device(80000, 20005)) == []


def test_a_burstable_workload_above_its_limit_is_stopped_for_the_limit_not_the_request():
    actions = memory_actions([usage("a", used=40001, request=20000, limit=40000)], device(80000, 40001))

    assert actions == [StopAction("a", LIMIT_EXCEEDED.format(used=40001, limit=40000))]


def test_a_workload_already_stopping_is_not_stopped_again():
    assert memory_actions([usage("a", used=30000, request=20000, stopping=True)], device(80000, 30000)) == []


def test_a_workload_above_its_cap_on_any_of_its_devices_is_stopped_once():
    workloads = [
        usage("a", used=30000, request=20000, device="GPU-0"),
        usage("a", used=30000, request=20000, device="GPU-1"),
    ]
    devices = {"GPU-0": DeviceMemory(80000, 30000), "GPU-1": DeviceMemory(80000, 30000)}

    assert [a.workload_id for a in memory_actions(workloads, devices)] == ["a"]


# --- dynamic fractions -------------------------------------------------------------------------


def test_a_burstable_workload_may_use_memory_up_to_its_limit_while_the_device_has_room():
    # a bursts to 50 GiB on an 80 GiB device; b is guaranteed 20 GiB and uses 10: 20 GiB are free,
    # more than the 10 GiB b may still claim.
    workloads = [usage("a", used=50000, request=20000, limit=60000), usage("b", used=10000, request=20000, started=1)]

    assert memory_actions(workloads, device(80000, 60000)) == []


def test_bursting_is_reclaimed_when_another_workload_needs_its_guaranteed_memory():
    # b has been guaranteed 30 GiB, uses 5 and the device has 15 free: a's burst is taken back.
    workloads = [usage("a", used=60000, request=20000, limit=70000), usage("b", used=5000, request=30000, started=1)]

    assert memory_actions(workloads, device(80000, 65000)) == [StopAction("a", RECLAIMED)]


def test_the_newest_bursting_workload_is_reclaimed_first_and_only_as_many_as_needed():
    workloads = [
        usage("old", used=25000, request=10000, limit=40000, started=1),
        usage("new", used=25000, request=10000, limit=40000, started=3),
        usage("guaranteed", used=0, request=30000, started=2),
    ]
    # 80 GiB device, 50 used: 30 free would do, but 5 GiB belong to a foreign process.
    actions = memory_actions(workloads, device(80000, 55000))

    assert actions == [StopAction("new", RECLAIMED)]


def test_older_bursting_workloads_follow_when_the_newest_does_not_free_enough():
    workloads = [
        usage("old", used=30000, request=10000, limit=40000, started=1),
        usage("new", used=11000, request=10000, limit=40000, started=3),
        usage("guaranteed", used=0, request=35000, started=2),
    ]

    actions = memory_actions(workloads, device(80000, 41000 + 20000))

    assert actions == [StopAction("new", RECLAIMED), StopAction("old", RECLAIMED)]


def test_a_workload_within_its_request_is_never_reclaimed_even_when_memory_is_short():
    # Over-committed by foreign processes: nobody bursts, so nobody is stopped.
    workloads = [usage("a", used=20000, request=20000, limit=40000), usage("b", used=0, request=40000, started=9)]

    assert memory_actions(workloads, device(80000, 79000)) == []


def test_memory_of_a_workload_being_stopped_counts_as_free_so_no_second_one_is_reclaimed():
    workloads = [
        usage("leaving", used=30000, request=10000, limit=40000, started=1, stopping=True),
        usage("bursting", used=30000, request=10000, limit=40000, started=2),
        usage("guaranteed", used=0, request=20000, started=3),
    ]

    assert memory_actions(workloads, device(80000, 60000)) == []


def test_a_workload_stopped_for_its_cap_frees_its_memory_before_anything_is_reclaimed():
    workloads = [
        usage("runaway", used=45000, request=20000, limit=40000, started=1),
        usage("bursting", used=30000, request=10000, limit=40000, started=2),
        usage("guaranteed", used=0, request=20000, started=3),
    ]

    actions = memory_actions(workloads, device(80000, 75000))

    assert actions == [StopAction("runaway", LIMIT_EXCEEDED.format(used=45000, limit=40000))]


def test_reclaiming_is_per_device():
    workloads = [
        usage("a", used=60000, request=20000, limit=70000, device="GPU-0"),
        usage("b", used=0, request=30000, device="GPU-1", started=1),
    ]
    devices = {"GPU-0": DeviceMemory(80000, 60000), "GPU-1": DeviceMemory(80000, 0)}

    assert memory_actions(workloads, devices) == []


def test_a_device_nvml_did_not_report_is_not_reclaimed_on():
    workloads = [usage("a", used=60000, request=20000, limit=70000), usage("b", used=0, request=30000, started=1)]

    assert memory_actions(workloads, {}) == []


# --- acting on a real process ------------------------------------------------------------------


def ended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class MockNvmlSampler:
    """Memory figures as NVML would give them; this machine has no GPU, so the test says which
    process uses how much."""

    def __init__(self, total_mib: int) -> None:
        self.total_mib = total_mib
        self.used: dict[int, dict[str, int]] = {}

    def devices(self) -> dict[str, DeviceMemory]:
        used = sum(amount for per_device in self.used.values() for amount in per_device.values())
        return {"GPU-real-0": DeviceMemory(self.total_mib, used)}

    def process_memory(self) -> dict[int, dict[str, int]]:
        return self.used


def test_a_workload_over_its_cap_is_stopped_and_fails_with_the_reason(state_dir: Path):
    runtime = LocalRuntime(state_dir)
    gpu = GpuDevice(index=0, uuid="GPU-real-0", model="mock", memory_mib=80000)
    spec = make_spec("w1", command="sleep 60 & sleep 60; wait", gpu_devices=1, gpu_portion=0.25)
    runtime.start(spec, "node-a", [gpu])
    processes = LocalWorkloadProcesses(runtime)
    root = wait_until(lambda: processes.root_pid("w1"), what="the supervisor's pid")
    # A grandchild of the supervisor (the shell's background sleep) holds the memory.
    leaf = wait_until(lambda: max(process_tree(root) - {root}, default=None), what="the workload's processes")
    sampler = MockNvmlSampler(total_mib=80000)
    sampler.used = {leaf: {"GPU-real-0": 20001}}
    watchdog = MemoryWatchdog(sampler, processes, grace_seconds=1)

    actions = watchdog.check(runtime.poll(), {"w1": spec}, {gpu.uuid: gpu})

    assert actions == [StopAction("w1", "GPU memory limit exceeded: used 20001 MiB of 20000 MiB")]
    final = wait_until(lambda: (s := runtime.poll()["w1"]).phase.is_terminal and s, what="the stop")
    assert final.phase == WorkloadPhase.FAILED
    assert final.message == "GPU memory limit exceeded: used 20001 MiB of 20000 MiB"
    wait_until(lambda: ended(leaf), what="the process holding the memory to be gone")


def test_a_workload_within_its_cap_keeps_running(state_dir: Path):
    runtime = LocalRuntime(state_dir)
    gpu = GpuDevice(index=0, uuid="GPU-real-0", model="mock", memory_mib=80000)
    spec = make_spec("w1", command="sleep 60", gpu_devices=1, gpu_portion=0.25)
    runtime.start(spec, "node-a", [gpu])
    processes = LocalWorkloadProcesses(runtime)
    root = wait_until(lambda: processes.root_pid("w1"), what="the supervisor's pid")
    sampler = MockNvmlSampler(total_mib=80000)
    sampler.used = {root: {"GPU-real-0": 20000}}
    watchdog = MemoryWatchdog(sampler, processes, grace_seconds=1)
    wait_until(lambda: runtime.poll()["w1"].phase == WorkloadPhase.RUNNING, what="the start")

    assert watchdog.check(runtime.poll(), {"w1": spec}, {gpu.uuid: gpu}) == []
    assert runtime.poll()["w1"].phase == WorkloadPhase.RUNNING


def test_a_stop_for_a_fault_ends_failed_while_a_plain_stop_ends_stopped(state_dir: Path):
    runtime = LocalRuntime(state_dir)
    runtime.start(make_spec("fault", command="sleep 60"), "node-a", [])
    runtime.start(make_spec("plain", command="sleep 60"), "node-a", [])
    wait_until(lambda: all(s.phase == WorkloadPhase.RUNNING for s in runtime.poll().values()), what="both to run")

    runtime.stop("fault", grace_seconds=0, reason="GPU memory above request reclaimed")
    runtime.stop("plain", grace_seconds=0)

    final = wait_until(
        lambda: (s := runtime.poll()) and all(x.phase.is_terminal for x in s.values()) and s, what="both to end"
    )
    assert (final["fault"].phase, final["fault"].message) == (
        WorkloadPhase.FAILED,
        "GPU memory above request reclaimed",
    )
    assert final["plain"].phase == WorkloadPhase.STOPPED
    assert datetime.now(UTC) >= final["fault"].finished_at


def test_nvml_figures_are_read_per_process_and_per_device_in_mib():
    nvml = MockNvml(
        [
            MockDevice("GPU-a", memory_mib=81559, used_mib=30000, processes={101: 20000, 102: 10000}),
            MockDevice("GPU-b", memory_mib=81559, used_mib=5000, processes={101: 5000}),
        ]
    )
    sampler = NvmlSampler(nvml)

    assert sampler.devices() == {"GPU-a": DeviceMemory(81559, 30000), "GPU-b": DeviceMemory(81559, 5000)}
    assert sampler.process_memory() == {101: {"GPU-a": 20000, "GPU-b": 5000}, 102: {"GPU-a": 10000}}
