"""The GPU memory watchdog: holds every fractional workload to its memory share.

Every few seconds it samples NVML's per-process GPU memory, adds it up over each workload's
process tree, and stops (TERM, then KILL after the grace period) a workload that is

- above its cap: it fails with "GPU memory limit exceeded: used X MiB of Y MiB";
- above its request (a burstable one, request < limit) on a device where another workload
  needs memory it was guaranteed: newest first, only as many as it takes, with "GPU memory above
  request reclaimed". A workload within its request is never touched.

The decision is the pure function :func:`memory_actions`; :class:`MemoryWatchdog` samples,
decides and acts through the runtime.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.gpu.enforcement import memory_share
from agent.protocol import GpuDevice, WorkloadPhase, WorkloadSpec, WorkloadStatus

log = logging.getLogger(__name__)

MIB = 1024 * 1024
LIMIT_EXCEEDED = "GPU memory limit exceeded: used {used} MiB of {limit} MiB"
RECLAIMED = "GPU memory above request reclaimed"


@dataclass(frozen=True)
class DeviceMemory:
    """One device's memory as NVML reports it: total and used by every process on it."""

    total_mib: int
    used_mib: int


@dataclass(frozen=True)
class WorkloadMemory:
    """What one workload uses on one device, against its share there. ``started`` orders
    workloads by age (larger is newer); ``stopping`` says a stop is already under way."""

    workload_id: str
    device: str
    used_mib: int
    request_mib: int
    limit_mib: int
    started: float
    stopping: bool = False


@dataclass(frozen=True)
class StopAction:
    workload_id: str
    reason: str


def memory_actions(workloads: Sequence[WorkloadMemory], devices: Mapping[str, DeviceMemory]) -> list[StopAction]:
    """Which workloads to stop, and why: those above their cap, then, device by device, those
    above their request (newest first) until every workload's unused guarantee fits in the
    device's free memory."""
    actions: dict[str, StopAction] = {}
    for usage in workloads:
        if not usage.stopping and usage.workload_id not in actions and usage.used_mib > usage.limit_mib:
            reason = LIMIT_EXCEEDED.format(used=usage.used_mib, limit=usage.limit_mib)
            actions[usage.workload_id] = StopAction(usage.workload_id, reason)
    by_device: dict[str, list[WorkloadMemory]] = defaultdict(list)
    for usage in workloads:
        by_device[usage.device].append(usage)
    for device, usages in sorted(by_device.items()):
        memory = devices.get(device)
        if memory is None:
            continue
        ending = {u.workload_id for u in usages if u.stopping or u.workload_id in actions}
        # Memory that is being given back counts as free: its workload is on its way out.
        free = memory.total_mib - memory.used_mib + sum(u.used_mib for u in usages if u.workload_id in ending)
        owed = sum(max(0, u.request_mib - u.used_mib) for u in usages if u.workload_id not in ending)
        if owed <= free:
            continue
        bursting = [u for u in usages if u.workload_id not in ending and u.used_mib > u.request_mib]
        for usage in sorted(bursting, key=lambda u: (u.started, u.workload_id), reverse=True):
            if owed <= free:
                break
            actions[usage.workload_id] = StopAction(usage.workload_id, RECLAIMED)
            free += usage.used_mib
    return list(actions.values())


class MemorySampler(Protocol):
    """Where memory figures come from (NVML on a GPU host, a mock in tests)."""

    def devices(self) -> dict[str, DeviceMemory]:
        """Each device's memory, by UUID."""

    def process_memory(self) -> dict[int, dict[str, int]]:
        """GPU memory (MiB) used by each process, by pid, then device UUID."""


class NvmlSampler:
    """Memory figures from NVML (``pynvml`` or a stand-in with the same functions)."""

    def __init__(self, nvml: Any = None) -> None:
        if nvml is None:
            import pynvml as nvml
        self.nvml = nvml
        nvml.nvmlInit()

    def _handles(self) -> Iterable[tuple[str, Any]]:
        for index in range(self.nvml.nvmlDeviceGetCount()):
            handle = self.nvml.nvmlDeviceGetHandleByIndex(index)
            uuid = self.nvml.nvmlDeviceGetUUID(handle)
            yield (uuid.decode() if isinstance(uuid, bytes) else uuid), handle

    def devices(self) -> dict[str, DeviceMemory]:
        found = {}
        for uuid, handle in self._handles():
            info = self.nvml.nvmlDeviceGetMemoryInfo(handle)
            found[uuid] = DeviceMemory(total_mib=int(info.total) // MIB, used_mib=int(info.used) // MIB)
        return found

    def process_memory(self) -> dict[int, dict[str, int]]:
        used: dict[int, dict[str, int]] = defaultdict(dict)
        for uuid, handle in self._handles():
            for process in self.nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                # usedGpuMemory is None where the driver cannot tell (e.g. some MPS setups).
                amount = int(process.usedGpuMemory or 0) // MIB
                used[int(process.pid)][uuid] = used[int(process.pid)].get(uuid, 0) + amount
        return dict(used)


def process_tree(root_pid: int) -> set[int]:
    """``root_pid`` and all its descendants (empty if it is gone)."""
    import psutil

    try:
        root = psutil.Process(root_pid)
        return {root_pid, *(child.pid for child in root.children(recursive=True))}
    except psutil.Error:
        return set()


class WorkloadProcesses(Protocol):
    """What the watchdog needs from the runtime about a workload."""

    def root_pid(self, workload_id: str) -> int | None: ...

    def stop(self, workload_id: str, grace_seconds: float, reason: str | None = None) -> None: ...


class LocalWorkloadProcesses:
    """The local runtime's workloads: the process tree under each one's supervisor."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def root_pid(self, workload_id: str) -> int | None:
        import json

        try:
            record = json.loads((Path(self.runtime.workload_dir(workload_id)) / "supervisor.json").read_text())
        except (OSError, ValueError, KeyError):
            return None
        pid = record.get("pid") if isinstance(record, dict) else None
        return pid if isinstance(pid, int) else None

    def stop(self, workload_id: str, grace_seconds: float, reason: str | None = None) -> None:
        self.runtime.stop(workload_id, grace_seconds, reason=reason)


class MemoryWatchdog:
    """Samples, decides with :func:`memory_actions`, and stops workloads through the runtime."""

    def __init__(
        self,
        sampler: MemorySampler,
        processes: WorkloadProcesses,
        grace_seconds: float,
        tree: Callable[[int], set[int]] = process_tree,
    ) -> None:
        self.sampler = sampler
        self.processes = processes
        self.grace_seconds = grace_seconds
        self.tree = tree

    def check(
        self,
        statuses: Mapping[str, WorkloadStatus],
        specs: Mapping[str, WorkloadSpec],
        devices: Mapping[str, GpuDevice],
    ) -> list[StopAction]:
        """One round over the running and stopping fractional workloads; returns the stops."""
        watched = {
            workload_id: status
            for workload_id, status in statuses.items()
            if status.phase in (WorkloadPhase.RUNNING, WorkloadPhase.STOPPING) and workload_id in specs and status.gpus
        }
        if not watched:
            return []
        per_process = self.sampler.process_memory()
        usages = []
        for workload_id, status in watched.items():
            root = self.processes.root_pid(workload_id)
            pids = self.tree(root) if root is not None else set()
            for uuid in status.gpus:
                device = devices.get(uuid)
                share = memory_share(specs[workload_id], device) if device is not None else None
                if share is None:
                    continue
                used = sum(per_process.get(pid, {}).get(uuid, 0) for pid in pids)
                started = status.started_at.timestamp() if status.started_at else 0.0
                usages.append(
                    WorkloadMemory(
                        workload_id=workload_id,
                        device=uuid,
                        used_mib=used,
                        request_mib=share.request_mib,
                        limit_mib=share.limit_mib,
                        started=started,
                        stopping=status.phase == WorkloadPhase.STOPPING,
                    )
                )
        if not usages:
            return []
        actions = memory_actions(usages, self.sampler.devices())
        for action in actions:
            log.warning("stopping workload %s: %s", action.workload_id, action.reason)
            self.processes.stop(action.workload_id, self.grace_seconds, reason=action.reason)
        return actions
