"""How the command line sets up the GPU layer: MPS or not, and the guard's parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.gpu.discovery import simulated_devices
from agent.gpu.enforcement import WITHOUT_MPS, FractionConfig
from agent.gpu.setup import fraction_config, gpu_guard
from agent.protocol import Inventory, NodeInventory
from agent.runtime.local.runtime import LocalRuntime


def test_without_mps_shares_are_held_by_the_watchdog_alone(tmp_path: Path):
    assert fraction_config(tmp_path, "off", "strict") == WITHOUT_MPS


def test_an_external_mps_daemon_is_reached_through_the_pipe_directory_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CUDA_MPS_PIPE_DIRECTORY", "/run/mps")

    assert fraction_config(tmp_path, "external", "strict") == FractionConfig(
        mps=True, compute_mode="strict", mps_pipe_directory="/run/mps"
    )


def test_an_own_mps_daemon_that_cannot_start_means_no_mps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-cuda-mps-control on this machine anyway

    assert fraction_config(tmp_path, "own", "fair") == WITHOUT_MPS


def test_simulated_devices_get_a_guard_for_cordons_without_nvml(state_dir: Path):
    inventory = Inventory(nodes=[NodeInventory(name="n", simulated=True, gpus=simulated_devices("n", 2, 1024))])

    guard = gpu_guard(inventory, LocalRuntime(state_dir), WITHOUT_MPS, 1.0)

    assert (guard.discover, guard.health, guard.watchdog) == (None, None, None)
    assert guard.inventory == inventory
