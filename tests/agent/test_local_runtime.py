"""The local runtime: supervised processes, their outcome, output, devices and re-adoption."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from agent.protocol import GpuDevice, WorkloadPhase, WorkloadStatus
from agent.runtime.base import UnknownWorkload, WorkerPlacement, WorkloadExists
from agent.runtime.local.layout import LOST_REASON, read_json, write_json
from agent.runtime.local.runtime import LocalRuntime
from tests.agent.conftest import make_spec
from tests.polling import wait_until


def finished(runtime: LocalRuntime, workload_id: str = "w1") -> WorkloadStatus:
    """Wait for the workload to end and return its final status."""
    return wait_until(
        lambda: (s := runtime.poll()[workload_id]).phase.is_terminal and s,
        what=f"workload {workload_id} to finish",
    )


def output(runtime: LocalRuntime, workload_id: str = "w1", stream: str = "stdout") -> str:
    return (runtime.workload_dir(workload_id) / f"{stream}.log").read_text()


def gpu(index: int, uuid: str, simulated: bool = False) -> GpuDevice:
    return GpuDevice(index=index, uuid=uuid, model="test", memory_mib=1024, simulated=simulated)


def test_a_command_completes_with_stdout_and_stderr_captured(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="echo out; echo err >&2"), "node-a", [])

    status = finished(runtime)

    assert (status.phase, status.exit_code, status.message) == (WorkloadPhase.COMPLETED, 0, "")
    assert (status.node, status.gpus) == ("node-a", [])
    assert status.started_at is not None and status.finished_at is not None
    assert output(runtime, stream="stdout") == "out\n"
    assert output(runtime, stream="stderr") == "err\n"


def test_a_finished_supervisor_is_reaped_not_left_a_zombie(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="true"), "n", [])
    finished(runtime)
    pid = (read_json(runtime.workload_dir("w1") / "supervisor.json") or {})["pid"]

    wait_until(lambda: runtime.poll() and not Path(f"/proc/{pid}").exists(), what="the reaping")


def test_a_failing_command_is_failed_with_its_exit_code(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="exit 3"), "node-a", [])

    status = finished(runtime)

    assert (status.phase, status.exit_code, status.message) == (
        WorkloadPhase.FAILED,
        3,
        "exit code 3",
    )


def test_a_command_killed_by_a_signal_is_failed_naming_the_signal(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="kill -KILL $$"), "node-a", [])

    status = finished(runtime)

    assert (status.phase, status.exit_code, status.message) == (
        WorkloadPhase.FAILED,
        -9,
        "killed by signal SIGKILL",
    )


def test_cuda_visible_devices_lists_the_uuids_of_real_gpus(runtime: LocalRuntime) -> None:
    devices = [gpu(2, "GPU-aaa"), gpu(3, "GPU-bbb")]
    runtime.start(make_spec(command='echo "$CUDA_VISIBLE_DEVICES"', gpu_devices=2), "n", devices)

    status = finished(runtime)

    assert output(runtime) == "GPU-aaa,GPU-bbb\n"
    assert status.gpus == ["GPU-aaa", "GPU-bbb"]


def test_cuda_visible_devices_lists_the_indices_of_simulated_gpus(runtime: LocalRuntime) -> None:
    devices = [gpu(1, "SIM-GPU-n-1", simulated=True), gpu(3, "SIM-GPU-n-3", simulated=True)]
    runtime.start(make_spec(command='echo "$CUDA_VISIBLE_DEVICES"', gpu_devices=2), "n", devices)

    finished(runtime)

    assert output(runtime) == "1,3\n"


def test_cuda_visible_devices_is_empty_without_gpus(runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")  # The agent's own value must not leak.
    runtime.start(make_spec(command='echo "[${CUDA_VISIBLE_DEVICES-unset}]"'), "n", [])

    finished(runtime)

    assert output(runtime) == "[]\n"


def test_the_command_runs_in_its_work_dir_with_spec_env_and_tessera_variables(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FROM_AGENT", "inherited")
    spec = make_spec(
        command='pwd; echo "$FROM_AGENT $FROM_SPEC"; '
        'echo "$TESSERA_WORKLOAD_ID $TESSERA_WORKLOAD_NAME $TESSERA_PROJECT"',
        env={"FROM_SPEC": "given", "TESSERA_WORKLOAD_ID": "spoofed"},
    )
    runtime.start(spec, "n", [])

    finished(runtime)

    work = runtime.workload_dir("w1") / "work"
    assert output(runtime).splitlines() == [str(work), "inherited given", "w1 name-w1 team-a"]


def test_args_are_appended_to_the_command_after_a_space(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="echo", args="--epochs 3"), "n", [])

    finished(runtime)

    assert output(runtime) == "--epochs 3\n"


def test_args_alone_are_run_when_the_command_is_empty(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="", args="echo only args"), "n", [])

    assert finished(runtime).phase == WorkloadPhase.COMPLETED
    assert output(runtime) == "only args\n"


def test_a_workload_without_command_or_args_fails_with_a_reason(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="", args=""), "n", [])

    status = finished(runtime)

    assert (status.phase, status.message, status.exit_code) == (
        WorkloadPhase.FAILED,
        "no command given",
        None,
    )


def test_the_image_is_recorded_in_spec_json(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(image="pytorch/pytorch:2.4"), "n", [])

    recorded = read_json(runtime.workload_dir("w1") / "spec.json") or {}
    assert recorded["image"] == "pytorch/pytorch:2.4"


def test_a_workload_is_never_started_twice(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="true"), "n", [])

    with pytest.raises(WorkloadExists):
        runtime.start(make_spec(command="true"), "n", [])


def test_a_new_runtime_re_adopts_a_running_workload_and_never_runs_it_again(state_dir: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    first = LocalRuntime(state_dir)
    first.start(make_spec(command=f"echo started >> {runs}; sleep 1"), "n", [])
    wait_until(lambda: runs.exists(), what="the command to start")
    supervisor = read_json(first.workload_dir("w1") / "supervisor.json") or {}
    assert os.getsid(supervisor["pid"]) == supervisor["pid"]  # its own session: it outlives us

    second = LocalRuntime(state_dir)  # as after an agent restart

    assert second.known() == {"w1"}
    assert second.poll()["w1"].phase == WorkloadPhase.RUNNING
    with pytest.raises(WorkloadExists):
        second.start(make_spec(command=f"echo started >> {runs}"), "n", [])
    assert finished(second).phase == WorkloadPhase.COMPLETED
    assert runs.read_text().splitlines() == ["started"]


def test_a_finished_workload_keeps_its_outcome_in_a_new_runtime(state_dir: Path) -> None:
    first = LocalRuntime(state_dir)
    first.start(make_spec(command="exit 4"), "n", [])
    before = finished(first)

    after = LocalRuntime(state_dir).poll()["w1"]

    assert after == before


def test_a_vanished_supervisor_is_reported_lost(state_dir: Path) -> None:
    first = LocalRuntime(state_dir)
    first.start(make_spec(command="sleep 2"), "n", [])
    pid = (read_json(first.workload_dir("w1") / "supervisor.json") or {})["pid"]
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)

    status = LocalRuntime(state_dir).poll()["w1"]

    assert (status.phase, status.message, status.exit_code) == (
        WorkloadPhase.FAILED,
        LOST_REASON,
        None,
    )


def test_a_reused_pid_is_not_mistaken_for_the_supervisor(state_dir: Path) -> None:
    first = LocalRuntime(state_dir)
    first.start(make_spec(command="true"), "n", [])
    finished(first)
    workload = first.workload_dir("w1")
    (workload / "exit_code").unlink()
    # Pretend the supervisor's pid now belongs to another live process: this one.
    record = read_json(workload / "supervisor.json") or {}
    write_json(workload / "supervisor.json", {**record, "pid": os.getpid(), "start_time": 1})

    status = LocalRuntime(state_dir).poll()["w1"]

    assert (status.phase, status.message) == (WorkloadPhase.FAILED, LOST_REASON)


def test_stop_ends_the_workload_with_sigterm_and_reports_stopped(runtime: LocalRuntime, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    runtime.start(make_spec(command=f"touch {ready}; sleep 2"), "n", [])
    wait_until(ready.exists, what="the command to run")

    runtime.stop("w1", grace_seconds=10)

    assert runtime.poll()["w1"].phase in (WorkloadPhase.STOPPING, WorkloadPhase.STOPPED)
    status = finished(runtime)
    assert (status.phase, status.exit_code) == (WorkloadPhase.STOPPED, -signal.SIGTERM)
    assert status.message == "stopped (killed by signal SIGTERM)"


def test_stop_kills_a_workload_that_ignores_sigterm_after_the_grace_period(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    runtime.start(make_spec(command=f"trap '' TERM; touch {ready}; sleep 2"), "n", [])
    wait_until(ready.exists, what="the command to ignore SIGTERM")

    runtime.stop("w1", grace_seconds=0.3)

    status = finished(runtime)
    assert (status.phase, status.exit_code) == (WorkloadPhase.STOPPED, -signal.SIGKILL)


def test_a_stop_right_after_start_is_honoured(runtime: LocalRuntime, tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    runtime.start(make_spec(command=f"trap '' TERM; echo ran >> {runs}; sleep 2"), "n", [])

    runtime.stop("w1", grace_seconds=0.2)

    status = finished(runtime)
    assert status.phase == WorkloadPhase.STOPPED
    # Either the command never started, or it was killed after the grace period.
    assert status.exit_code in (None, -signal.SIGKILL)


def test_logs_are_read_by_byte_offset(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="printf 'hello world'"), "n", [])
    finished(runtime)

    assert runtime.log_size("w1", "stdout") == 11
    assert runtime.read_log("w1", "stdout", 6, 100) == b"world"
    assert runtime.read_log("w1", "stdout", 0, 5) == b"hello"
    assert runtime.log_size("w1", "stderr") == 0


def test_only_a_finished_workload_can_be_forgotten(runtime: LocalRuntime, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    runtime.start(make_spec("done", command="true"), "n", [])
    runtime.start(make_spec("busy", command=f"touch {ready}; sleep 2"), "n", [])
    finished(runtime, "done")
    wait_until(ready.exists, what="busy to run")

    with pytest.raises(ValueError):
        runtime.forget("busy")
    directory = runtime.workload_dir("done")
    runtime.forget("done")

    assert runtime.known() == {"busy"}
    assert not directory.exists()
    with pytest.raises(UnknownWorkload):
        runtime.log_size("done", "stdout")


def test_an_evicted_workload_is_stopping_then_pending_preempted_never_ended(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    runtime.start(make_spec(command=f"touch {ready}; sleep 5"), "n", [gpu(0, "GPU-a")])
    wait_until(ready.exists, what="the command to run")

    runtime.evict("w1", grace_seconds=10, reason="preempted by urgent (priority 100) in project team-a")

    stopping = runtime.poll()["w1"]
    assert stopping.phase in (WorkloadPhase.STOPPING, WorkloadPhase.PENDING)
    assert stopping.message == "Preempted: preempted by urgent (priority 100) in project team-a"
    requeued = wait_until(lambda: (s := runtime.poll()["w1"]).phase == WorkloadPhase.PENDING and s, what="the end")
    assert (requeued.message, requeued.node, requeued.gpus) == (stopping.message, None, [])
    # A new runtime over the same directory (the agent restarted) sees the same.
    assert LocalRuntime(runtime.root.parent).poll()["w1"] == requeued


def test_an_evicted_workload_starts_again_under_its_id_with_its_logs_and_work_kept(runtime: LocalRuntime) -> None:
    runtime.start(make_spec(command="echo run >> runs; cat runs; sleep 5"), "n", [gpu(0, "GPU-a")])
    wait_until(lambda: output(runtime) == "run\n", what="the first run")
    runtime.evict("w1", grace_seconds=10, reason="reclaimed")
    wait_until(lambda: runtime.poll()["w1"].phase == WorkloadPhase.PENDING, what="the eviction to end")

    runtime.start(make_spec(command="echo run >> runs; cat runs"), "n", [gpu(1, "GPU-b")])

    assert finished(runtime).phase == WorkloadPhase.COMPLETED
    assert output(runtime) == "run\nrun\nrun\n"  # the log appended to; work/ kept between runs
    assert runtime.poll()["w1"].gpus == ["GPU-b"]


def test_a_workload_that_was_not_evicted_is_never_started_twice(runtime: LocalRuntime, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    runtime.start(make_spec(command=f"touch {ready}; sleep 5"), "n", [])
    wait_until(ready.exists, what="the command to run")

    with pytest.raises(WorkloadExists):
        runtime.start(make_spec(command="true"), "n", [])
    runtime.stop("w1", grace_seconds=10)
    finished(runtime)
    with pytest.raises(WorkloadExists):
        runtime.start(make_spec(command="true"), "n", [])


def test_stopping_an_evicted_workload_ends_it_for_good(runtime: LocalRuntime, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    runtime.start(make_spec(command=f"touch {ready}; sleep 5"), "n", [])
    wait_until(ready.exists, what="the command to run")
    runtime.evict("w1", grace_seconds=10, reason="reclaimed")
    wait_until(lambda: runtime.poll()["w1"].phase == WorkloadPhase.PENDING, what="the eviction to end")

    runtime.stop("w1", grace_seconds=10)

    assert finished(runtime).phase == WorkloadPhase.STOPPED
    with pytest.raises(WorkloadExists):
        runtime.start(make_spec(command="true"), "n", [])


def test_a_memory_fraction_gets_its_memory_limit_and_portion_in_its_environment(runtime: LocalRuntime) -> None:
    spec = make_spec(command='echo "$TESSERA_GPU_MEMORY_LIMIT_MIB $TESSERA_GPU_PORTION"', gpu_memory_mib=256)
    runtime.start(spec, "n", [gpu(0, "GPU-a")])

    finished(runtime)
    assert output(runtime) == "256 0.25\n"


def test_a_gang_runs_one_process_per_worker_each_with_its_rank_and_devices(runtime: LocalRuntime) -> None:
    spec = make_spec(command='echo "$RANK $LOCAL_RANK $WORLD_SIZE $CUDA_VISIBLE_DEVICES"', gpu_devices=1, workers=2)
    workers = [WorkerPlacement("n", (gpu(0, "GPU-a", simulated=True),)), WorkerPlacement("n", (gpu(1, "GPU-b"),))]

    runtime.start(spec, "n", [], workers=workers)

    status = finished(runtime)
    assert (status.phase, status.node, status.gpus) == (WorkloadPhase.COMPLETED, "n", ["GPU-a", "GPU-b"])
    assert sorted(output(runtime).splitlines()) == ["[worker 0] 0 0 2 0", "[worker 1] 1 1 2 GPU-b"]
    assert runtime.placement("w1") == tuple(workers)
