"""Holding a fractional workload to its share of a GPU: its environment and the MPS daemon.

A workload sees only its devices (``CUDA_VISIBLE_DEVICES`` by UUID). Its memory share is passed
three ways: to the MPS server where the node runs one (``CUDA_MPS_PINNED_DEVICE_MEM_LIMIT``, a
hard limit per client), to frameworks that read it (``TESSERA_GPU_MEMORY_FRACTION`` for
``torch.cuda.set_per_process_memory_fraction``), and to the agent's own NVML watchdog
(:mod:`agent.gpu.watchdog`), which stops a workload above its cap in every case. Its compute
share goes to MPS as ``CUDA_MPS_ACTIVE_THREAD_PERCENTAGE`` in the strict mode; in the fair mode
workloads time-slice the device and the variable is left unset.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from agent.protocol import GpuDevice, WorkloadSpec

log = logging.getLogger(__name__)

ComputeMode = Literal["strict", "fair"]

# Variables a workload can read; documented in agent/README.md.
MEMORY_FRACTION_ENV = "TESSERA_GPU_MEMORY_FRACTION"
MEMORY_LIMIT_ENV = "TESSERA_GPU_MEMORY_LIMIT_MIB"
PORTION_ENV = "TESSERA_GPU_PORTION"


@dataclass(frozen=True)
class FractionConfig:
    """How this node shares devices: whether clients go through MPS (and where its pipes are),
    and the compute mode. The mode is a node-pool setting: ``compute_mode`` is the agent's own
    default (its command line), for pools that do not say (see :meth:`in_mode`)."""

    mps: bool = False
    compute_mode: ComputeMode = "fair"
    mps_pipe_directory: str | None = None

    def in_mode(self, compute_mode: ComputeMode | None) -> FractionConfig:
        """This config with the compute mode of the pool a workload was placed in (None: the
        pool does not say, so the agent's default holds)."""
        return self if compute_mode is None else replace(self, compute_mode=compute_mode)


WITHOUT_MPS = FractionConfig()
"""Shares passed to frameworks and watched by the agent, with no MPS on the node."""


@dataclass(frozen=True)
class MemoryShare:
    """A workload's memory on one device: guaranteed (``request_mib``) and its cap
    (``limit_mib``, at least the request; above the request only while the device has room)."""

    request_mib: int
    limit_mib: int


def is_fractional(spec: WorkloadSpec) -> bool:
    return spec.gpu_portion is not None or spec.gpu_memory_mib is not None


def memory_share(spec: WorkloadSpec, device: GpuDevice) -> MemoryShare | None:
    """The workload's memory share on ``device``; ``None`` for a whole device (no cap)."""
    total = device.memory_mib
    if spec.gpu_memory_mib is not None:
        request = min(spec.gpu_memory_mib, total)
    elif spec.gpu_portion is not None:
        request = int(spec.gpu_portion * total)
    else:
        return None
    limit = request
    if spec.gpu_portion_limit is not None:
        limit = max(request, int(spec.gpu_portion_limit * total))
    return MemoryShare(request_mib=request, limit_mib=limit)


def compute_portion(spec: WorkloadSpec, device: GpuDevice) -> float | None:
    """The share of the device's compute the workload asked for (a memory request counts as
    that share of the device)."""
    if spec.gpu_portion is not None:
        return spec.gpu_portion
    if spec.gpu_memory_mib is not None and device.memory_mib:
        return min(1.0, spec.gpu_memory_mib / device.memory_mib)
    return None


def visible_devices(devices: Sequence[GpuDevice]) -> str:
    """CUDA_VISIBLE_DEVICES: UUIDs of real GPUs (indices would be remapped under MPS), indices
    of simulated ones (there is nothing for a UUID to name)."""
    return ",".join(str(d.index) if d.simulated else d.uuid for d in devices)


def fraction_env(spec: WorkloadSpec, devices: Sequence[GpuDevice], config: FractionConfig) -> dict[str, str]:
    """The environment that holds ``spec`` to its share of ``devices``: only the visible devices
    for a whole-device workload; the share variables too for a fractional one."""
    env = {"CUDA_VISIBLE_DEVICES": visible_devices(devices)}
    if not devices or not is_fractional(spec):
        return env
    shares = [memory_share(spec, device) for device in devices]
    limits = [share.limit_mib for share in shares if share is not None]
    fractions = [
        share.limit_mib / device.memory_mib
        for share, device in zip(shares, devices, strict=True)
        if share and device.memory_mib
    ]
    if limits:
        env[MEMORY_LIMIT_ENV] = str(min(limits))
    if fractions:
        # The smallest device's fraction, so the cap holds on every device.
        env[MEMORY_FRACTION_ENV] = f"{min(fractions):.4g}"
    portion = compute_portion(spec, devices[0])
    if portion is not None:
        env[PORTION_ENV] = f"{portion:.4g}"
    if config.mps:
        # Ordinals as the client sees its devices, in CUDA_VISIBLE_DEVICES order.
        env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] = ",".join(
            f"{ordinal}={share.limit_mib}M" for ordinal, share in enumerate(shares) if share is not None
        )
        if config.mps_pipe_directory:
            env["CUDA_MPS_PIPE_DIRECTORY"] = config.mps_pipe_directory
        if config.compute_mode == "strict" and portion is not None:
            env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = str(max(1, min(100, round(portion * 100))))
    return env


class MpsDaemon:
    """The MPS control daemon, owned by the agent when configured to start it.

    Its pipe and log directories live under the agent's data directory. It is left running when
    the agent exits (its clients are workloads, which outlive the agent); a restarted agent finds
    it by its pid file and adopts it.
    """

    PID_FILE = "nvidia-cuda-mps-control.pid"

    def __init__(self, data_dir: Path, binary: str = "nvidia-cuda-mps-control") -> None:
        self.pipe_directory = Path(data_dir).resolve() / "mps" / "pipe"
        self.log_directory = Path(data_dir).resolve() / "mps" / "log"
        self.binary = binary

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["CUDA_MPS_PIPE_DIRECTORY"] = str(self.pipe_directory)
        env["CUDA_MPS_LOG_DIRECTORY"] = str(self.log_directory)
        return env

    def running(self) -> bool:
        try:
            pid = int((self.pipe_directory / self.PID_FILE).read_text().strip())
        except (OSError, ValueError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def start(self) -> bool:
        """Start the daemon unless it already runs; whether it runs afterwards."""
        if self.running():
            log.info("adopting the running MPS control daemon (pipes in %s)", self.pipe_directory)
            return True
        if shutil.which(self.binary) is None:
            log.error("MPS was asked for but %s is not installed", self.binary)
            return False
        self.pipe_directory.mkdir(parents=True, exist_ok=True)
        self.log_directory.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [self.binary, "-d"], env=self.environment(), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            log.error("could not start the MPS control daemon: %s", (result.stderr or result.stdout).strip())
            return False
        log.info("started the MPS control daemon (pipes in %s)", self.pipe_directory)
        return True

    def stop(self) -> None:
        """Ask the daemon to quit (it waits for its clients to end)."""
        if self.running():
            subprocess.run([self.binary], input="quit\n", env=self.environment(), text=True, check=False)

    def fraction_config(self, compute_mode: ComputeMode) -> FractionConfig:
        return FractionConfig(mps=True, compute_mode=compute_mode, mps_pipe_directory=str(self.pipe_directory))
