"""The agent against a scripted control plane: hello, desired state, statuses, logs, errors."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from agent.connection.scripted import Close, Deliver, Expect, ScriptedTransport
from agent.protocol import AckMessage, DesiredStateMessage, WorkloadPhase, WorkloadSpec
from tests.agent.agent_harness import RunningAgent, welcome
from tests.agent.conftest import make_spec, run_to_end


def wait_for_file(path: Path) -> str:
    """Shell code that waits for ``path`` to appear, for 5 s at most (a failing test must not
    leave a workload running)."""
    return f"i=0; while [ ! -e {path} ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done"


def desired(*specs: WorkloadSpec, full: bool = True, removed: list[str] | None = None) -> Deliver:
    return Deliver(DesiredStateMessage(full=full, workloads=list(specs), removed=removed or []))


def status_is(workload_id: str, phase: WorkloadPhase, message: str | None = None) -> Expect:
    def where(m: Any) -> bool:
        return (
            m.status.workload_id == workload_id
            and m.status.phase == phase
            and (message is None or m.status.message == message)
        )

    return Expect("workload_status", where, f"{workload_id} {phase.value} {message or ''}")


def statuses_of(transport: ScriptedTransport, workload_id: str) -> list[Any]:
    return [m.status for m in transport.sent_of_type("workload_status") if m.status.workload_id == workload_id]


def chunks_of(transport: ScriptedTransport, workload_id: str, stream: str) -> list[Any]:
    return [m for m in transport.sent_of_type("log_chunk") if m.workload_id == workload_id and m.stream == stream]


def play(state_dir: Path, *transports: ScriptedTransport, gpus: int = 0) -> None:
    """Run an agent until every transport's script has been played out."""

    async def scenario() -> None:
        async with RunningAgent(state_dir, transports, simulated_gpus=gpus):
            for transport in transports:
                await transport.wait_done(timeout=15)

    asyncio.run(scenario())


def test_hello_carries_the_inventory_and_the_full_actual_state(state_dir: Path) -> None:
    run_to_end(state_dir, make_spec("done", command="exit 2"))

    def is_full_hello(hello: Any) -> bool:
        (node,) = hello.inventory.nodes
        workloads = [(w.workload_id, w.phase, w.exit_code) for w in hello.workloads]
        return (
            node.name == "node-a"
            and [g.uuid for g in node.gpus] == ["SIM-GPU-node-a-0", "SIM-GPU-node-a-1"]
            and workloads == [("done", WorkloadPhase.FAILED, 2)]
        )

    transport = ScriptedTransport([Expect("hello", is_full_hello, "inventory and 'done'")])

    play(state_dir, transport, gpus=2)

    assert transport.sent[0].seq == 1


def test_a_full_desired_state_starts_a_workload_and_ships_its_logs_before_its_final_status(
    state_dir: Path,
) -> None:
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(make_spec("w1", command="echo hello; echo oops >&2")),
            status_is("w1", WorkloadPhase.COMPLETED),
        ]
    )

    play(state_dir, transport)

    (final,) = [s for s in statuses_of(transport, "w1") if s.phase.is_terminal]
    assert (final.exit_code, final.node) == (0, "node-a")
    stdout, stderr = chunks_of(transport, "w1", "stdout"), chunks_of(transport, "w1", "stderr")
    assert [(c.offset, c.size, c.data) for c in stdout] == [(0, 6, "hello\n")]
    assert [(c.offset, c.size, c.data) for c in stderr] == [(0, 5, "oops\n")]
    last_chunk = max(transport.sent.index(c) for c in stdout + stderr)
    final_message = next(m for m in transport.sent_of_type("workload_status") if m.status.phase.is_terminal)
    assert last_chunk < transport.sent.index(final_message)
    assert [m.seq for m in transport.sent] == list(range(1, len(transport.sent) + 1))


def test_a_workload_that_does_not_fit_is_pending_with_the_schedulers_reason(
    state_dir: Path,
) -> None:
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(
                make_spec("first", command="sleep 0.5", gpu_devices=1),
                make_spec("second", command="true", gpu_devices=1, priority=10),
                make_spec("huge", command="true", gpu_devices=2),
            ),
            status_is("huge", WorkloadPhase.PENDING, "requests 2 GPUs but the largest node has 1"),
            status_is("first", WorkloadPhase.COMPLETED),
            status_is("second", WorkloadPhase.COMPLETED),
        ]
    )

    play(state_dir, transport, gpus=1)

    second = statuses_of(transport, "second")
    assert (second[0].phase, second[0].message) == (
        WorkloadPhase.PENDING,
        "waiting for 1 GPU: 0 of 1 free on node node-a",
    )
    assert second[-1].gpus == ["SIM-GPU-node-a-0"]
    running = [s for s in statuses_of(transport, "first") if s.phase == WorkloadPhase.RUNNING]
    assert len(running) <= 1  # statuses are sent on change only


def test_a_finished_workload_is_never_started_again(state_dir: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    spec = make_spec("w1", command=f"echo ran >> {runs}")
    run_to_end(state_dir, spec)
    transport = ScriptedTransport(
        [
            Expect("hello", lambda m: [w.phase for w in m.workloads] == [WorkloadPhase.COMPLETED]),
            Deliver(welcome()),
            desired(spec),  # the control plane has not heard the final status yet
            Expect("heartbeat"),
            Expect("heartbeat"),
        ]
    )

    play(state_dir, transport)

    assert runs.read_text() == "ran\n"
    assert statuses_of(transport, "w1") == []  # its final status went in hello, unchanged since


def test_logs_resume_from_the_welcome_offsets(state_dir: Path) -> None:
    run_to_end(state_dir, make_spec("w1", command="printf 'first\\nsecond\\n'; echo oops >&2"))
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome(log_offsets={"w1": {"stdout": 6}})),
            Expect("log_chunk", lambda m: m.stream == "stdout"),
            Expect("heartbeat"),
        ]
    )

    play(state_dir, transport)

    assert [(c.offset, c.data) for c in chunks_of(transport, "w1", "stdout")] == [(6, "second\n")]
    assert [(c.offset, c.data) for c in chunks_of(transport, "w1", "stderr")] == [(0, "oops\n")]


def test_the_agent_reconnects_and_resumes_logs_where_the_control_plane_left_off(
    state_dir: Path, tmp_path: Path
) -> None:
    go_on = tmp_path / "go-on"
    spec = make_spec("w1", command=f"echo one; {wait_for_file(go_on)}; echo two")
    first = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            desired(spec),
            Expect("log_chunk", lambda m: m.data == "one\n"),
            Close(),
        ]
    )
    second = ScriptedTransport(
        [
            Expect("hello", lambda m: [w.workload_id for w in m.workloads] == ["w1"]),
            Deliver(welcome(log_offsets={"w1": {"stdout": 4}})),
            desired(spec),
            status_is("w1", WorkloadPhase.COMPLETED),
        ]
    )

    async def scenario() -> None:
        async with RunningAgent(state_dir, [first, second]):
            await first.wait_done()
            go_on.touch()
            await second.wait_done()

    asyncio.run(scenario())

    assert [(c.offset, c.data) for c in chunks_of(second, "w1", "stdout")] == [(4, "two\n")]
    assert second.sent[0].seq == 1  # numbering starts again on every connection


def test_a_malformed_control_message_gets_an_error_and_the_session_goes_on(
    state_dir: Path,
) -> None:
    transport = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            Deliver('{"v": 1, "type": "desired_state", "seq": 7, "full": "perhaps"}'),
            Expect("error", lambda m: m.ref_seq == 7 and "full" in m.message, "names the field"),
            Deliver("this is not json"),
            Expect("error", lambda m: m.ref_seq is None and "JSON" in m.message),
            desired(make_spec("w1", command="true")),
            status_is("w1", WorkloadPhase.COMPLETED),
        ]
    )

    play(state_dir, transport)


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
