"""The agent against a scripted control plane: hello, desired state, statuses, logs, errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agent.connection.scripted import Close, Deliver, Expect, ScriptedTransport
from agent.protocol import WorkloadPhase
from tests.agent.agent_harness import (
    RunningAgent,
    chunks_of,
    desired,
    play,
    status_is,
    statuses_of,
    wait_for_file,
    welcome,
)
from tests.agent.conftest import make_spec, run_to_end


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
    assert second[0].phase == WorkloadPhase.PENDING
    assert second[0].message.startswith("waiting for 1 GPU: 0 of 1 free on node node-a")
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
            # w1's Running status was never acknowledged: it waits in the outbox and follows
            # the welcome, rather than a newer state in hello overtaking it.
            Expect("hello", lambda m: m.workloads == []),
            Deliver(welcome(log_offsets={"w1": {"stdout": 4}})),
            status_is("w1", WorkloadPhase.RUNNING),
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
