"""The GPU guard on each tick: a refreshed inventory when health or cordons change, and what runs
on an unhealthy or drained device (or a drained node) stopped and requeued with the reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.connection.scripted import Deliver, Expect, ScriptedTransport
from agent.core import Agent
from agent.gpu.discovery import discover_inventory
from agent.gpu.guard import GpuGuard
from agent.protocol import CordonSpec, DesiredStateMessage, GpuDevice, Inventory, NodeInventory, WorkloadPhase
from agent.runtime.local.runtime import LocalRuntime
from tests.agent.agent_harness import FAST, welcome
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


def requeued(runtime: LocalRuntime, workload_id: str):
    """The workload once its process has ended and it waits to run again (never an ending)."""
    return wait_until(
        lambda: (s := runtime.poll()[workload_id]).phase == WorkloadPhase.PENDING and s, what=f"{workload_id} requeued"
    )


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


def test_a_workload_on_a_device_that_turns_unhealthy_is_requeued_with_the_reason(state_dir: Path):
    runtime = LocalRuntime(state_dir)
    statuses = running(
        runtime,
        (make_spec("on-bad", command="sleep 60", gpu_devices=1), [gpu(1)]),
        (make_spec("on-good", command="sleep 60", gpu_devices=1), [gpu(0)]),
    )
    guard = GpuGuard(INVENTORY, runtime, 0, health=lambda: {"GPU-1": "XID error 79"}, refresh_seconds=0)

    guard.tick(statuses, {})

    bad = requeued(runtime, "on-bad")
    assert bad.message == "Preempted: GPU GPU-1 is unhealthy: XID error 79" and bad.gpus == []
    assert runtime.poll()["on-good"].phase == WorkloadPhase.RUNNING


def test_a_cordon_keeps_what_runs_and_a_drain_stops_it(state_dir: Path):
    runtime = LocalRuntime(state_dir)
    statuses = running(runtime, (make_spec("w1", command="sleep 60", gpu_devices=1), [gpu(0)]))
    guard = GpuGuard(INVENTORY, runtime, 0, refresh_seconds=0)

    changed = guard.set_cordons([CordonSpec(target="device", name="GPU-0")])
    guard.tick(statuses, {})

    assert changed is not None and changed.nodes[0].gpus[0].cordoned is True
    assert runtime.poll()["w1"].phase == WorkloadPhase.RUNNING

    guard.set_cordons([CordonSpec(target="device", name="GPU-0", drain=True)])
    guard.tick(statuses, {})

    assert requeued(runtime, "w1").message == "Preempted: drained: GPU GPU-0 was drained by an administrator"


def test_draining_a_node_stops_its_workloads_with_or_without_gpus(state_dir: Path):
    runtime = LocalRuntime(state_dir)
    statuses = running(runtime, (make_spec("cpu-only", command="sleep 60"), []))
    guard = GpuGuard(INVENTORY, runtime, 0, refresh_seconds=0)

    guard.set_cordons([CordonSpec(target="node", name="node-a", drain=True)])
    guard.tick(statuses, {})

    assert requeued(runtime, "cpu-only").message == "Preempted: drained: node node-a was drained by an administrator"


def test_the_agent_places_nothing_on_a_cordoned_device_and_moves_work_off_a_drained_one(state_dir: Path):
    inventory = discover_inventory("node-a", 2)
    first, second = (gpu.uuid for gpu in inventory.nodes[0].gpus)
    spec = make_spec("w1", command="sleep 30", gpu_devices=1)

    def running_on(device: str) -> Expect:
        return Expect(
            "workload_status", lambda m: m.status.phase == WorkloadPhase.RUNNING and m.status.gpus == [device]
        )

    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            Deliver(
                DesiredStateMessage(full=True, workloads=[spec], cordons=[CordonSpec(target="device", name=first)])
            ),
            running_on(second),
            # Drained while the first device is still cordoned: the work has nowhere to go but
            # Pending, so its requeue is seen before it runs again.
            Deliver(
                DesiredStateMessage(
                    full=False,
                    cordons=[
                        CordonSpec(target="device", name=first),
                        CordonSpec(target="device", name=second, drain=True),
                    ],
                )
            ),
            Expect(
                "workload_status",
                lambda m: (
                    m.status.phase == WorkloadPhase.PENDING
                    and m.status.message.startswith(f"Preempted: drained: GPU {second} was drained by an administrator")
                ),
            ),
            Deliver(DesiredStateMessage(full=False, cordons=[CordonSpec(target="device", name=second, drain=True)])),
            running_on(first),
        ],
        tolerate={"heartbeat", "log_chunk", "workload_status", "ack", "inventory", "metrics", "queue_status"},
    )
    runtime = LocalRuntime(state_dir)
    guard = GpuGuard(inventory, runtime, 0, refresh_seconds=0)
    agent = Agent(runtime, inventory, lambda: transport, FAST, guard=guard)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        try:
            await transport.wait_done(timeout=20)
        finally:
            stop.set()
            await task

    asyncio.run(scenario())

    inventories = [m.inventory for m in transport.sent_of_type("inventory")]
    assert inventories and [g.cordoned for g in inventories[-1].nodes[0].gpus] == [None, True]
