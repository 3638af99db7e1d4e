"""The outbox: status changes wait on disk, in order and bounded, until the control plane
acknowledges them; an agent whose control plane is away keeps running and delivers them later."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.connection.outbox import Outbox
from agent.connection.scripted import Close, Deliver, Expect, ScriptedTransport
from agent.connection.transport import Transport
from agent.core import Agent
from agent.gpu.discovery import discover_inventory
from agent.protocol import AckMessage, WorkloadPhase, WorkloadStatus
from agent.runtime.local.runtime import LocalRuntime
from tests.agent.agent_harness import FAST, desired, status_is, statuses_of, wait_for_file, welcome
from tests.agent.conftest import make_spec
from tests.polling import wait_until

PHASES = [WorkloadPhase.RUNNING, WorkloadPhase.STOPPING, WorkloadPhase.STOPPED]


def status(workload_id: str, phase: WorkloadPhase, message: str = "") -> WorkloadStatus:
    return WorkloadStatus(workload_id=workload_id, phase=phase, message=message)


def listed(outbox: Outbox) -> list[tuple[str, str]]:
    return [(e.status.workload_id, e.status.phase.value) for e in outbox.entries()]


def test_changes_come_out_in_the_order_they_went_in_and_survive_a_restart(tmp_path: Path):
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(path)
    for phase in PHASES:
        outbox.append(status("a", phase))
    outbox.append(status("b", WorkloadPhase.RUNNING))

    again = Outbox(path)

    assert listed(again) == [("a", "Running"), ("a", "Stopping"), ("a", "Stopped"), ("b", "Running")]
    assert again.latest() == {"a": status("a", WorkloadPhase.STOPPED), "b": status("b", WorkloadPhase.RUNNING)}


def test_acknowledged_changes_are_removed_from_disk(tmp_path: Path):
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(path)
    first = outbox.append(status("a", WorkloadPhase.RUNNING))
    outbox.append(status("a", WorkloadPhase.STOPPED))

    outbox.remove_through(first.id)

    assert listed(Outbox(path)) == [("a", "Stopped")]
    outbox.remove_through(first.id + 1)
    assert path.read_text() == "" and len(Outbox(path)) == 0


def test_the_outbox_is_bounded_and_drops_superseded_changes_first(tmp_path: Path):
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(path, max_entries=4)
    outbox.append(status("a", WorkloadPhase.RUNNING))
    outbox.append(status("b", WorkloadPhase.RUNNING))
    for phase in PHASES[1:]:
        outbox.append(status("a", phase))
    outbox.append(status("c", WorkloadPhase.RUNNING))

    # Five changes for four places: a's Running, superseded by its later changes, goes first.
    assert outbox.dropped == 1
    assert listed(outbox) == [("b", "Running"), ("a", "Stopping"), ("a", "Stopped"), ("c", "Running")]
    assert listed(Outbox(path)) == listed(outbox)  # the drop is on disk too
    assert outbox.latest() == {
        "a": status("a", WorkloadPhase.STOPPED),
        "b": status("b", WorkloadPhase.RUNNING),
        "c": status("c", WorkloadPhase.RUNNING),
    }


def test_the_file_stays_bounded_however_many_changes_go_through(tmp_path: Path):
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(path, max_entries=10)
    for n in range(1000):
        entry = outbox.append(status(f"w{n % 30}", WorkloadPhase.RUNNING, message=f"step {n}"))
        if n % 7 == 0:
            outbox.remove_through(entry.id - 3)  # acknowledgements lag a little behind

    lines = path.read_text().splitlines()
    assert len(outbox) <= 10
    assert len(lines) <= 2 * 10 + 64 + 1  # compacted once notes outweigh changes
    assert listed(Outbox(path)) == listed(outbox)


def test_a_full_outbox_of_latest_states_drops_the_oldest(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox.jsonl", max_entries=2)
    for name in "abc":
        outbox.append(status(name, WorkloadPhase.RUNNING))

    assert listed(outbox) == [("b", "Running"), ("c", "Running")] and outbox.dropped == 1


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path):
    path = tmp_path / "outbox.jsonl"
    Outbox(path).append(status("a", WorkloadPhase.RUNNING))
    with path.open("a") as handle:
        handle.write('{"id": 2, "status": {"workload_id": "a", "pha')

    assert listed(Outbox(path)) == [("a", "Running")]


class ControlPlaneAway:
    """Connections: ``first``, then refused (the control plane is down) until ``back`` is set,
    then ``second``."""

    def __init__(self, first: ScriptedTransport, second: ScriptedTransport) -> None:
        self.first, self.second = first, second
        self.back = False
        self.handed: list[ScriptedTransport] = []

    def __call__(self) -> Transport:
        if self.first not in self.handed:
            chosen = self.first
        elif self.back and self.second not in self.handed:
            chosen = self.second
        else:
            chosen = ScriptedTransport([], refuse_with=503)
        self.handed.append(chosen)
        return chosen


def test_changes_made_while_the_control_plane_is_down_are_delivered_in_order_when_it_returns(
    state_dir: Path, tmp_path: Path
):
    go_on = tmp_path / "go-on"
    holder = make_spec("holder", command=f"{wait_for_file(go_on)}; echo done", gpu_devices=1)
    waiter = make_spec("waiter", command="sleep 0.2", gpu_devices=1)  # needs the only GPU
    first = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(holder, waiter),
            status_is("holder", WorkloadPhase.RUNNING),
            Deliver(AckMessage(ack_seq=10**6)),
            Close(),
        ]
    )
    second = ScriptedTransport(
        [
            Expect("hello", lambda m: m.workloads == [], "no state that would overtake the outbox"),
            Deliver(welcome()),
            status_is("waiter", WorkloadPhase.COMPLETED),
            Deliver(AckMessage(ack_seq=10**6)),
        ]
    )
    connections = ControlPlaneAway(first, second)
    outbox = Outbox(state_dir / "outbox.jsonl")
    runtime = LocalRuntime(state_dir)
    agent = Agent(runtime, discover_inventory("node-a", 1), connections, FAST, outbox=outbox)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        await first.wait_done()
        go_on.touch()  # the control plane is down: the holder ends, the waiter runs and ends
        await asyncio.to_thread(
            wait_until,
            lambda: ("waiter", "Completed") in listed(outbox),
            what="the waiter's completion to wait in the outbox",
        )
        connections.back = True
        await second.wait_done(timeout=15)
        await asyncio.to_thread(wait_until, lambda: len(outbox) == 0, what="the outbox to empty")
        stop.set()
        await task

    asyncio.run(scenario())

    in_order = [(m.status.workload_id, m.status.phase.value) for m in second.sent_of_type("workload_status")]
    assert in_order == [("holder", "Completed"), ("waiter", "Running"), ("waiter", "Completed")]
    assert statuses_of(first, "waiter")[-1].phase == WorkloadPhase.PENDING  # it started offline
