"""Putting the GPU layer together for the command line: how fractions are enforced on this node
(MPS or not), and the guard with NVML's health and memory watchdog where there are real GPUs."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from agent.gpu.discovery import discover_nvml
from agent.gpu.enforcement import WITHOUT_MPS, ComputeMode, FractionConfig, MpsDaemon
from agent.gpu.guard import GpuGuard
from agent.gpu.health import HealthMonitor
from agent.gpu.watchdog import LocalWorkloadProcesses, MemoryWatchdog, NvmlSampler
from agent.protocol import Inventory, NodeInventory
from agent.runtime.base import Runtime

log = logging.getLogger(__name__)

MpsMode = Literal["off", "own", "external"]


def has_real_gpus(inventory: Inventory) -> bool:
    return any(not gpu.simulated for node in inventory.nodes for gpu in node.gpus)


def fraction_config(state_dir: Path, mps: MpsMode, compute_mode: ComputeMode) -> FractionConfig:
    """``own``: the agent starts (or adopts) the MPS control daemon under ``state_dir``;
    ``external``: the node already runs one (its pipes where CUDA_MPS_PIPE_DIRECTORY says, or the
    default); ``off``: no MPS, shares are held by the watchdog alone."""
    if mps == "own":
        daemon = MpsDaemon(state_dir)
        if daemon.start():
            return daemon.fraction_config(compute_mode)
        log.error("running without MPS: GPU memory shares are held by the watchdog alone")
        return WITHOUT_MPS
    if mps == "external":
        return FractionConfig(
            mps=True, compute_mode=compute_mode, mps_pipe_directory=os.environ.get("CUDA_MPS_PIPE_DIRECTORY")
        )
    return WITHOUT_MPS


def gpu_guard(inventory: Inventory, runtime: Runtime, fractions: FractionConfig, grace_seconds: float) -> GpuGuard:
    """The guard: cordons always; with real GPUs also re-discovery, health and the watchdog."""
    if not has_real_gpus(inventory):
        return GpuGuard(inventory, runtime, grace_seconds, mps=fractions.mps)
    node = inventory.nodes[0]

    def rediscover() -> Inventory:
        report = discover_nvml()
        if report is None:
            raise RuntimeError("NVML did not answer")  # the guard keeps the last inventory
        found = NodeInventory(
            name=node.name,
            driver_version=report.driver_version,
            cuda_version=report.cuda_version,
            gpus=report.gpus,
            labels=node.labels,  # given on the command line: discovery does not find them
            cpu_milli=node.cpu_milli,
            memory_mib=node.memory_mib,
        )
        return Inventory(nodes=[found])

    try:
        health = HealthMonitor().check
        watchdog = MemoryWatchdog(NvmlSampler(), LocalWorkloadProcesses(runtime), grace_seconds)
    except Exception:
        log.exception("NVML could not be opened for health checks and the memory watchdog")
        return GpuGuard(inventory, runtime, grace_seconds, discover=rediscover, mps=fractions.mps)
    return GpuGuard(
        inventory, runtime, grace_seconds, discover=rediscover, health=health, watchdog=watchdog, mps=fractions.mps
    )
