"""The GPU guard on each tick: a refreshed inventory when health or cordons change, and what runs
on an unhealthy or drained device (or a drained node) stopped with the reason."""

from __future__ import annotations

from pathlib import Path

from agent.gpu.guard import GpuGuard
from agent.protocol import CordonSpec, GpuDevice, Inventory, NodeInventory, WorkloadPhase
from agent.runtime.local.runtime import LocalRuntime
from tests.agent.conftest import make_spec
from tests.polling import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def gpu(index: int) -> GpuDevice:
    return GpuDevice(index=index, uuid=f"GPU-{index}", model="H200", memory_mib=143771)


INVENTORY = Inventory(nodes=[NodeInventory(name="node-a", gpus=[gpu(0), gpu(1)])])


def running(runtime: LocalRuntime, *specs_and_devices) -> dict:
    for spec, devices in specs_and_devices:
        runtime.start(spec, "node-a", devices)
    return wait_until(
        lambda: (s := runtime.poll()) and all(x.phase == WorkloadPhase.RUNNING for x in s.values()) and s,
        what="the workloads to run",
    )


def final(runtime: LocalRuntime, workload_id: str):
    return wait_until(lambda: (s := runtime.poll()[workload_id]).phase.is_terminal and s, what=f"{workload_id} to end")


def test_nothing_changes_until_the_refresh_is_due_and_then_only_when_something_did(state_dir: Path):
    clock = Clock()
    unhealthy: dict[str, str] = {}
    guard = GpuGuard(INVENTORY, LocalRuntime(state_dir), 0, health=lambda: unhealthy, clock=clock)

    assert guard.tick({}, {}) is None
    clock.now = 10
    assert guard.tick({}, {}) is None  # due, but nothing changed
    unhealthy["GPU-1"] = "XID error 79"
    clock.now = 20
    changed = guard.tick({}, {})

    assert changed is not None and [g.healthy for g in changed.nodes[0].gpus] == [None, False]


def test_a_workload_on_a_device_that_turns_unhealthy_fails_with_the_reason(state_dir: Path):
    runtime = LocalRuntime(state_dir)
    statuses = running(
        runtime,
        (make_spec("on-bad", command="sleep 60", gpu_devices=1), [gpu(1)]),
        (make_spec("on-good", command="sleep 60", gpu_devices=1), [gpu(0)]),
    )
    guard = GpuGuard(INVENTORY, runtime, 0, health=lambda: {"GPU-1": "XID error 79"}, refresh_seconds=0)

    guard.tick(statuses, {})

    bad = final(runtime, "on-bad")
    assert (bad.phase, bad.message) == (WorkloadPhase.FAILED, "GPU GPU-1 is unhealthy: XID error 79")
    assert runtime.poll()["on-good"].phase == WorkloadPhase.RUNNING


def test_a_cordon_keeps_what_runs_and_a_drain_stops_it(state_dir: Path):
    runtime = LocalRuntime(state_dir)
    statuses = running(runtime, (make_spec("w1", command="sleep 60", gpu_devices=1), [gpu(0)]))
    guard = GpuGuard(INVENTORY, runtime, 0, refresh_seconds=0)

    guard.set_cordons([CordonSpec(target="device", name="GPU-0")])
    changed = guard.tick(statuses, {})

    assert changed is not None and changed.nodes[0].gpus[0].cordoned is True
    assert runtime.poll()["w1"].phase == WorkloadPhase.RUNNING

    guard.set_cordons([CordonSpec(target="device", name="GPU-0", drain=True)])
    guard.tick(statuses, {})

    stopped = final(runtime, "w1")
    assert (stopped.phase, stopped.message) == (
        WorkloadPhase.FAILED,
        "drained: GPU GPU-0 was drained by an administrator",
    )


def test_draining_a_node_stops_its_workloads_with_or_without_gpus(state_dir: Path):
    runtime = LocalRuntime(state_dir)
    statuses = running(runtime, (make_spec("cpu-only", command="sleep 60"), []))
    guard = GpuGuard(INVENTORY, runtime, 0, refresh_seconds=0)

    guard.set_cordons([CordonSpec(target="node", name="node-a", drain=True)])
    guard.tick(statuses, {})

    assert final(runtime, "cpu-only").message == "drained: node node-a was drained by an administrator"
