"""Fraction enforcement: the environment that holds a fractional workload to its share, and the
MPS control daemon the agent can own (a mock binary stands in for NVIDIA's; no GPU here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.gpu.enforcement import FractionConfig, MpsDaemon, fraction_env, memory_share
from agent.protocol import GpuDevice
from agent.runtime.local.runtime import LocalRuntime
from tests.agent.conftest import make_spec
from tests.polling import wait_until

H200 = 143771


def device(index: int, memory_mib: int = H200, simulated: bool = False) -> GpuDevice:
    return GpuDevice(
        index=index, uuid=f"GPU-{index}abc", model="NVIDIA H200", memory_mib=memory_mib, simulated=simulated
    )


def test_a_whole_device_workload_sees_its_devices_by_uuid_and_nothing_else():
    env = fraction_env(make_spec(gpu_devices=2), [device(0), device(3)], FractionConfig(mps=True))

    assert env == {"CUDA_VISIBLE_DEVICES": "GPU-0abc,GPU-3abc"}


def test_simulated_devices_are_named_by_index():
    env = fraction_env(make_spec(gpu_devices=1), [device(2, simulated=True)], FractionConfig())

    assert env["CUDA_VISIBLE_DEVICES"] == "2"


def test_a_portion_without_mps_gets_the_framework_variables_and_no_mps_ones():
    env = fraction_env(make_spec(gpu_devices=1, gpu_portion=0.25), [device(0, memory_mib=80000)], FractionConfig())

    assert env == {
        "CUDA_VISIBLE_DEVICES": "GPU-0abc",
        "TESSERA_GPU_MEMORY_LIMIT_MIB": "20000",
        "TESSERA_GPU_MEMORY_FRACTION": "0.25",
        "TESSERA_GPU_PORTION": "0.25",
    }


def test_with_mps_in_strict_mode_memory_is_pinned_per_device_and_compute_capped_by_the_portion():
    config = FractionConfig(mps=True, compute_mode="strict", mps_pipe_directory="/var/lib/tessera/mps/pipe")
    spec = make_spec(gpu_devices=2, gpu_portion=0.5)

    env = fraction_env(spec, [device(1, 80000), device(2, 80000)], config)

    assert env["CUDA_VISIBLE_DEVICES"] == "GPU-1abc,GPU-2abc"
    # Ordinals as the workload sees its devices, not the host's indices.
    assert env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=40000M,1=40000M"
    assert env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "50"
    assert env["CUDA_MPS_PIPE_DIRECTORY"] == "/var/lib/tessera/mps/pipe"


def test_in_fair_mode_compute_is_time_sliced_so_no_thread_percentage_is_set():
    env = fraction_env(make_spec(gpu_devices=1, gpu_portion=0.5), [device(0)], FractionConfig(mps=True))

    assert "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE" not in env
    assert "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT" in env


def test_a_memory_request_is_capped_at_that_memory_and_counts_as_its_share_of_compute():
    spec = make_spec(gpu_devices=1, gpu_memory_mib=20000)

    env = fraction_env(spec, [device(0, 80000)], FractionConfig(mps=True, compute_mode="strict"))

    assert env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=20000M"
    assert env["TESSERA_GPU_MEMORY_FRACTION"] == "0.25"
    assert env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25"


def test_a_burstable_workload_is_capped_at_its_limit_and_guaranteed_its_request():
    spec = make_spec(gpu_devices=1, gpu_portion=0.25, gpu_portion_limit=0.5)

    share = memory_share(spec, device(0, 80000))
    env = fraction_env(spec, [device(0, 80000)], FractionConfig(mps=True, compute_mode="strict"))

    assert (share.request_mib, share.limit_mib) == (20000, 40000)
    assert env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == "0=40000M"
    assert env["TESSERA_GPU_MEMORY_FRACTION"] == "0.5"
    assert env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25"  # compute follows the request


def test_whole_devices_have_no_memory_share():
    assert memory_share(make_spec(gpu_devices=1), device(0)) is None


MOCK_MPS_CONTROL = """#!/bin/sh
# Mock of nvidia-cuda-mps-control: -d records the daemon's pid file where the real one does.
if [ "$1" = "-d" ]; then
    mkdir -p "$CUDA_MPS_PIPE_DIRECTORY"
    sleep 60 >/dev/null 2>&1 &
    echo $! > "$CUDA_MPS_PIPE_DIRECTORY/nvidia-cuda-mps-control.pid"
    echo "started $CUDA_MPS_LOG_DIRECTORY" >> "$CUDA_MPS_PIPE_DIRECTORY/../calls"
else
    read command
    echo "$command" >> "$CUDA_MPS_PIPE_DIRECTORY/../calls"
    kill $(cat "$CUDA_MPS_PIPE_DIRECTORY/nvidia-cuda-mps-control.pid")
fi
"""


@pytest.fixture
def mock_mps_control(tmp_path: Path) -> str:
    binary = tmp_path / "bin" / "mock-nvidia-cuda-mps-control"
    binary.parent.mkdir()
    binary.write_text(MOCK_MPS_CONTROL)
    binary.chmod(0o755)
    return str(binary)


def test_the_agent_starts_the_mps_daemon_with_its_pipes_and_logs_under_its_data_dir(tmp_path, mock_mps_control):
    daemon = MpsDaemon(tmp_path / "state", binary=mock_mps_control)

    assert daemon.start()

    assert daemon.running()
    assert daemon.pipe_directory == (tmp_path / "state" / "mps" / "pipe").resolve()
    calls = (tmp_path / "state" / "mps" / "calls").read_text().splitlines()
    assert calls == [f"started {daemon.log_directory}"]
    assert daemon.fraction_config("strict").mps_pipe_directory == str(daemon.pipe_directory)
    daemon.stop()
    assert (tmp_path / "state" / "mps" / "calls").read_text().splitlines()[-1] == "quit"


def test_a_restarted_agent_adopts_the_running_daemon_rather_than_starting_another(tmp_path, mock_mps_control):
    first = MpsDaemon(tmp_path / "state", binary=mock_mps_control)
    first.start()

    again = MpsDaemon(tmp_path / "state", binary=mock_mps_control)
    assert again.start()

    calls = (tmp_path / "state" / "mps" / "calls").read_text().splitlines()
    assert [c for c in calls if c.startswith("started ")] == [calls[0]]
    again.stop()


def test_without_the_mps_binary_the_daemon_is_not_started(tmp_path):
    daemon = MpsDaemon(tmp_path / "state", binary=os.path.join(tmp_path, "missing-mps-control"))

    assert daemon.start() is False
    assert not daemon.running()


def test_the_local_runtime_gives_a_fractional_workload_its_share_in_its_environment(state_dir: Path):
    fractions = FractionConfig(mps=True, compute_mode="strict", mps_pipe_directory=str(state_dir / "mps" / "pipe"))
    runtime = LocalRuntime(state_dir, fractions=fractions)
    show = "echo $CUDA_VISIBLE_DEVICES $CUDA_MPS_PINNED_DEVICE_MEM_LIMIT $CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"
    spec = make_spec("w1", command=f"{show} $TESSERA_GPU_MEMORY_FRACTION", gpu_devices=1, gpu_portion=0.25)

    runtime.start(spec, "node-a", [device(3, memory_mib=80000)])

    wait_until(lambda: runtime.poll()["w1"].phase.is_terminal, what="the workload to end")
    assert (runtime.workload_dir("w1") / "stdout.log").read_text() == "GPU-3abc 0=20000M 25 0.25\n"
