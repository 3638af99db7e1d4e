"""The agent against a scripted control plane: stopping, forgetting, reconnecting,
running on while disconnected."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from agent.connection.scripted import DEFAULT_TOLERATED, Close, Deliver, Expect, ScriptedTransport
from agent.protocol import AckMessage, WorkloadPhase
from tests.agent.agent_harness import (
    RunningAgent,
    desired,
    play,
    status_is,
    statuses_of,
    wait_for_file,
    welcome,
)
from tests.agent.conftest import make_spec


def test_a_workload_removed_from_the_desired_state_is_stopped(state_dir: Path, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    spec = make_spec("w1", command=f"touch {ready}; sleep 2")
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(spec),
            status_is("w1", WorkloadPhase.RUNNING),
            desired(full=False, removed=["w1"]),
            status_is("w1", WorkloadPhase.STOPPED),
        ]
    )

    play(state_dir, transport)

    (stopped,) = [s for s in statuses_of(transport, "w1") if s.phase == WorkloadPhase.STOPPED]
    assert stopped.exit_code is not None or stopped.message


def test_a_workload_absent_from_a_new_full_desired_state_is_stopped(state_dir: Path) -> None:
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(make_spec("w1", command="sleep 2"), make_spec("w2", command="sleep 2")),
            status_is("w1", WorkloadPhase.RUNNING),
            desired(make_spec("w1", command="sleep 2")),
            status_is("w2", WorkloadPhase.STOPPED),
            desired(),
            status_is("w1", WorkloadPhase.STOPPED),
        ]
    )

    play(state_dir, transport)


def test_nothing_is_stopped_before_the_control_plane_says_what_it_wants(state_dir: Path, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    first = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(make_spec("w1", command=f"touch {ready}; sleep 1")),
            status_is("w1", WorkloadPhase.RUNNING),
        ]
    )
    play(state_dir, first)
    # A new agent process: the control plane welcomes it but has not sent a desired state yet.
    second = ScriptedTransport(
        [
            Expect("hello", lambda m: m.workloads[0].phase == WorkloadPhase.RUNNING),
            Deliver(welcome()),
            Expect("heartbeat"),
            Expect("heartbeat"),
        ]
    )

    play(state_dir, second)

    assert not (state_dir / "workloads" / "w1" / "stop.json").exists()


def test_a_finished_workload_is_forgotten_once_acknowledged_and_no_longer_desired(
    state_dir: Path,
) -> None:
    record = state_dir / "workloads" / "w1"
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(make_spec("w1", command="echo bye")),
            status_is("w1", WorkloadPhase.COMPLETED),
            Expect("heartbeat"),
            desired(),  # no longer wanted, but nothing acknowledged yet: keep the record
            Expect("heartbeat"),
            Expect("heartbeat"),
        ]
    )
    play(state_dir, transport)
    assert record.exists()

    # On the next connection the record is in hello; the ack covers everything sent so far.
    again = ScriptedTransport(
        [
            Expect("hello", lambda m: [w.workload_id for w in m.workloads] == ["w1"]),
            Deliver(welcome(log_offsets={"w1": {"stdout": 4}})),
            Expect("heartbeat"),
            Deliver(AckMessage(ack_seq=2)),
            desired(),
            Expect("heartbeat"),
            Expect("heartbeat"),
        ]
    )
    play(state_dir, again)

    assert not record.exists()


def test_a_finished_workload_still_desired_is_kept_even_when_acknowledged(
    state_dir: Path,
) -> None:
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(make_spec("w1", command="true")),
            status_is("w1", WorkloadPhase.COMPLETED),
            Deliver(AckMessage(ack_seq=1000)),
            Expect("heartbeat"),
            Expect("heartbeat"),
        ]
    )

    play(state_dir, transport)

    assert (state_dir / "workloads" / "w1").exists()


def test_a_refused_agent_logs_it_and_keeps_retrying(state_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    refused = ScriptedTransport([], refuse_with=403)
    accepted = ScriptedTransport([Expect("hello"), Deliver(welcome()), Expect("heartbeat")])

    with caplog.at_level(logging.ERROR):
        play(state_dir, refused, accepted)

    assert "refused this agent (HTTP 403)" in caplog.text


def test_while_disconnected_the_agent_keeps_scheduling_what_it_knows(state_dir: Path, tmp_path: Path) -> None:
    go_on = tmp_path / "go-on"
    first = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(
                make_spec("a", command=f"{wait_for_file(go_on)}", gpu_devices=1),
                make_spec("b", command="true", gpu_devices=1, priority=10),
            ),
            status_is("b", WorkloadPhase.PENDING),
            Close(),
        ]
    )

    async def scenario() -> None:
        async with RunningAgent(state_dir, [first], simulated_gpus=1) as running:
            await first.wait_done()
            go_on.touch()  # the control plane is gone from here on
            while (
                not all(s.phase == WorkloadPhase.COMPLETED for s in running.runtime.poll().values())
                or len(running.runtime.known()) < 2
            ):
                await asyncio.sleep(0.05)

    asyncio.run(asyncio.wait_for(scenario(), timeout=15))


def test_a_pending_workload_removed_from_the_desired_state_never_starts(state_dir: Path) -> None:
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(
                make_spec("a", command="sleep 0.3", gpu_devices=1),
                make_spec("b", command="true", gpu_devices=1, priority=10),
            ),
            status_is("b", WorkloadPhase.PENDING),
            desired(full=False, removed=["b"]),
            status_is("a", WorkloadPhase.COMPLETED),
            Expect("heartbeat"),
            Expect("heartbeat"),
        ]
    )

    play(state_dir, transport, gpus=1)

    assert not (state_dir / "workloads" / "b").exists()
    assert [s.phase for s in statuses_of(transport, "b")] == [WorkloadPhase.PENDING]


def test_an_evicted_workload_is_reported_pending_preempted_never_ended_and_runs_again(state_dir: Path) -> None:
    # The first run waits to be preempted; the second, finding the first one's file in work/, ends.
    command = "if [ -e ran ]; then echo again; else touch ran; echo first; sleep 30; fi"
    low = make_spec("low", name="low", command=command, gpu_devices=1)
    high = make_spec("high", name="high", command="sleep 1", gpu_devices=1, priority=100, preemptible=True)
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(low),
            status_is("low", WorkloadPhase.RUNNING),
            Expect("log_chunk", lambda m: m.workload_id == "low" and m.data == "first\n", "low's first run"),
            desired(low, high),
            Expect(
                "workload_status",
                lambda m: m.status.workload_id == "low" and m.status.phase == WorkloadPhase.PENDING,
                "low Pending",
            ),
            status_is("high", WorkloadPhase.RUNNING),
            status_is("high", WorkloadPhase.COMPLETED),
            status_is("low", WorkloadPhase.COMPLETED),
        ],
        tolerate=DEFAULT_TOLERATED | {"metrics"},
    )

    play(state_dir, transport, gpus=1)

    phases = [s.phase for s in statuses_of(transport, "low")]
    assert phases[0] == WorkloadPhase.RUNNING and phases[-1] == WorkloadPhase.COMPLETED
    assert not any(phase.is_terminal for phase in phases[:-1]), "an eviction is never reported as an ending"
    (preempted, *_) = [s for s in statuses_of(transport, "low") if s.phase == WorkloadPhase.PENDING]
    assert preempted.message.startswith("Preempted: preempted by high (priority 100) in project team-a")
    assert WorkloadPhase.RUNNING in phases[phases.index(WorkloadPhase.PENDING) :], "it ran again"
