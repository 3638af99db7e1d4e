"""GPU metrics: what each workload and each device holds and uses, sampled every few seconds and
sent to the control plane in batches.

Allocation comes from the scheduler's decisions (a workload's devices and the portion it asked
for on each), so it is known for simulated devices too. Memory used and utilisation come from
NVML, for a workload by the processes of its tree; where NVML cannot say (simulated devices, no
NVML, a runtime that cannot name the processes, a query the device does not support) they are
left out (``None``), never made up.

NVML is reached through :class:`GpuReader`, so tests can give a mock of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from agent.gpu.enforcement import compute_portion
from agent.gpu.watchdog import LocalWorkloadProcesses, process_tree
from agent.protocol import (
    DeviceUsage,
    GpuDevice,
    Inventory,
    MetricsMessage,
    MetricsSample,
    WorkloadDeviceUsage,
    WorkloadSpec,
    WorkloadStatus,
    WorkloadUsage,
)
from agent.protocol.metrics import MAX_SAMPLES_PER_MESSAGE

log = logging.getLogger(__name__)

MIB = 1024 * 1024


# --- NVML, behind an interface ----------------------------------------------------------------


@dataclass(frozen=True)
class UsageReading:
    """What NVML says one device, or one process on it, uses. ``utilization_percent`` is None
    where the device does not report it."""

    memory_used_bytes: int | None
    utilization_percent: float | None


class GpuReader(Protocol):
    """Reads live usage of real devices (by UUID)."""

    def device(self, uuid: str) -> UsageReading | None:
        """The device's usage in all; None if it cannot be read."""

    def processes(self, uuid: str) -> dict[int, UsageReading] | None:
        """Usage of each process (by pid) with a context on the device; None if it cannot be read.
        A process absent from the answer uses nothing there."""

    def close(self) -> None: ...


class NvmlReader:
    """:class:`GpuReader` over nvidia-ml-py. NVML stays initialised while the reader is open."""

    def __init__(self, pynvml: Any) -> None:
        self._nvml = pynvml
        self._handles: dict[str, Any] = {}
        # Per device, the newest timestamp of a process utilisation sample already read.
        self._seen: dict[str, int] = {}

    @classmethod
    def open(cls) -> NvmlReader | None:
        """An open reader, or None when NVML is not usable here."""
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as exc:  # no library, no driver: no readings
            log.info("NVML is not available for metrics (%s)", exc)
            return None
        return cls(pynvml)

    def _handle(self, uuid: str) -> Any:
        if uuid not in self._handles:
            self._handles[uuid] = self._nvml.nvmlDeviceGetHandleByUUID(uuid)
        return self._handles[uuid]

    def device(self, uuid: str) -> UsageReading | None:
        try:
            handle = self._handle(uuid)
            memory = int(self._nvml.nvmlDeviceGetMemoryInfo(handle).used)
        except Exception as exc:
            log.debug("NVML could not read device %s: %s", uuid, exc)
            return None
        try:
            utilization: float | None = float(self._nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except Exception:
            utilization = None
        return UsageReading(memory, utilization)

    def processes(self, uuid: str) -> dict[int, UsageReading] | None:
        try:
            handle = self._handle(uuid)
            running = self._nvml.nvmlDeviceGetComputeRunningProcesses(handle)
        except Exception as exc:
            log.debug("NVML could not list processes on %s: %s", uuid, exc)
            return None
        memory: dict[int, int | None] = {}
        for process in running:
            used = getattr(process, "usedGpuMemory", None)
            memory[int(process.pid)] = int(used) if isinstance(used, int) else None
        utilization = self._process_utilization(uuid, handle)
        pids = set(memory) | set(utilization or {})
        return {
            pid: UsageReading(
                memory.get(pid, 0),
                None if utilization is None else utilization.get(pid, 0.0),
            )
            for pid in pids
        }

    def _process_utilization(self, uuid: str, handle: Any) -> dict[int, float] | None:
        # SM utilisation per process over the samples since the last read, averaged per pid.
        try:
            samples = self._nvml.nvmlDeviceGetProcessUtilization(handle, self._seen.get(uuid, 0))
        except Exception as exc:
            not_found = getattr(self._nvml, "NVMLError_NotFound", ())
            if not_found and isinstance(exc, not_found):
                return {}  # no process ran kernels since the last read
            return None
        totals: dict[int, list[float]] = {}
        for sample in samples:
            totals.setdefault(int(sample.pid), []).append(float(sample.smUtil))
            self._seen[uuid] = max(self._seen.get(uuid, 0), int(sample.timeStamp))
        return {pid: sum(values) / len(values) for pid, values in totals.items()}

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            log.debug("nvmlShutdown failed", exc_info=True)


# --- the processes of a workload (the watchdog's view of them) -------------------------------


def local_workload_processes(runtime: Any) -> Callable[[str], set[int] | None]:
    """The processes of a local workload: its supervisor and everything below it. None for a
    runtime without workload directories (its processes cannot be named here)."""
    if getattr(runtime, "workload_dir", None) is None:
        return lambda workload_id: None
    local = LocalWorkloadProcesses(runtime)

    def processes(workload_id: str) -> set[int] | None:
        root = local.root_pid(workload_id)
        return process_tree(root) if root is not None and root > 0 else None

    return processes


# --- sampling ---------------------------------------------------------------------------------


def device_share(spec: WorkloadSpec, device: GpuDevice) -> float:
    """The share of one device a workload was given: its portion, or its memory over the
    device's, or the whole device."""
    share = compute_portion(spec, device)
    return 1.0 if share is None else share


def _sum(values: Iterable[int | None]) -> int | None:
    values = list(values)
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


class MetricsSampler:
    """Takes one :class:`MetricsSample` of the node's devices (the inventory as it is now) and
    the workloads on them."""

    def __init__(
        self,
        inventory: Callable[[], Inventory],
        statuses: Callable[[], Mapping[str, WorkloadStatus]],
        specs: Callable[[], Mapping[str, WorkloadSpec]],
        processes: Callable[[str], set[int] | None],
        reader: GpuReader | None,
    ) -> None:
        self.inventory = inventory
        self._statuses = statuses
        self._specs = specs
        self._processes = processes
        self.reader = reader

    def sample(self, interval_seconds: float, at: datetime | None = None) -> MetricsSample:
        devices = {gpu.uuid: (node.name, gpu) for node in self.inventory().nodes for gpu in node.gpus}
        allocated: dict[str, float] = {uuid: 0.0 for uuid in devices}
        process_cache: dict[str, dict[int, UsageReading] | None] = {}
        specs = self._specs()
        workloads = []
        for workload_id, status in sorted(self._statuses().items()):
            spec = specs.get(workload_id)
            held = [uuid for uuid in status.gpus if uuid in devices]
            if status.phase.is_terminal or status.node is None or not held or spec is None:
                continue  # holds no device, or its request is not known (yet): nothing to say
            pids = self._processes(workload_id) if self._real(held, devices) else None
            usages = []
            for uuid in held:
                share = device_share(spec, devices[uuid][1])
                allocated[uuid] += share
                memory, utilization = self._workload_usage(uuid, devices[uuid][1], pids, process_cache)
                usages.append(WorkloadDeviceUsage(gpu_uuid=uuid, allocation=share, memory_used_bytes=memory,
                                                  utilization_percent=utilization))  # fmt: skip
            workloads.append(WorkloadUsage(workload_id=workload_id, node=status.node, devices=usages))
        return MetricsSample(
            at=at or datetime.now(UTC),
            interval_seconds=interval_seconds,
            workloads=workloads,
            devices=[self._device_usage(node, gpu, allocated[gpu.uuid]) for node, gpu in devices.values()],
        )

    def _real(self, held: list[str], devices: Mapping[str, tuple[str, GpuDevice]]) -> bool:
        return self.reader is not None and any(not devices[uuid][1].simulated for uuid in held)

    def _workload_usage(
        self,
        uuid: str,
        gpu: GpuDevice,
        pids: set[int] | None,
        cache: dict[str, dict[int, UsageReading] | None],
    ) -> tuple[int | None, float | None]:
        if gpu.simulated or self.reader is None or pids is None:
            return None, None
        if uuid not in cache:
            cache[uuid] = self.reader.processes(uuid)
        readings = cache[uuid]
        if readings is None:
            return None, None
        mine = [reading for pid, reading in readings.items() if pid in pids]
        memory = _sum(r.memory_used_bytes for r in mine)
        utilizations = [r.utilization_percent for r in mine]
        utilization = None if any(u is None for u in utilizations) else min(100.0, sum(u or 0.0 for u in utilizations))
        return memory, utilization

    def _device_usage(self, node: str, gpu: GpuDevice, allocation: float) -> DeviceUsage:
        reading = None if gpu.simulated or self.reader is None else self.reader.device(gpu.uuid)
        return DeviceUsage(
            node=node,
            gpu_uuid=gpu.uuid,
            index=gpu.index,
            allocation=round(allocation, 6),
            memory_total_bytes=gpu.memory_mib * MIB,
            memory_used_bytes=reading.memory_used_bytes if reading else None,
            utilization_percent=reading.utilization_percent if reading else None,
        )


# --- batching and sending ---------------------------------------------------------------------

Send = Callable[[MetricsMessage], Awaitable[Any]]


class MetricsShipper:
    """Samples every ``interval`` seconds and sends what it gathered every ``batch_seconds``
    through whatever connection is up. While none is, samples wait in a bounded buffer (the
    oldest go first when it is full)."""

    def __init__(
        self, sampler: MetricsSampler, interval: float = 5.0, batch_seconds: float = 15.0, max_buffered: int = 720
    ) -> None:
        self.sampler = sampler
        self.interval = interval
        self.batch_seconds = max(batch_seconds, interval)
        self.buffer: deque[MetricsSample] = deque(maxlen=max_buffered)

    def take_sample(self) -> None:
        try:
            self.buffer.append(self.sampler.sample(self.interval))
        except Exception:
            log.exception("taking a metrics sample failed; trying again at the next one")

    async def flush(self, send: Send) -> None:
        """Send the buffered samples, oldest first; those not sent stay buffered."""
        while self.buffer:
            batch = list(self.buffer)[:MAX_SAMPLES_PER_MESSAGE]
            await send(MetricsMessage(samples=batch))
            for _ in batch:
                self.buffer.popleft()

    async def run(self, connection: Callable[[], Send | None]) -> None:
        """Sample and send until cancelled. ``connection`` gives the current way to send, or
        None while there is no welcomed connection."""
        try:
            await self._loop(connection)
        finally:
            if self.sampler.reader is not None:
                self.sampler.reader.close()

    async def _loop(self, connection: Callable[[], Send | None]) -> None:
        since_flush = 0.0
        while True:
            self.take_sample()
            since_flush += self.interval
            send = connection()
            if send is not None and since_flush >= self.batch_seconds:
                since_flush = 0.0
                try:
                    await self.flush(send)
                except Exception as exc:  # the connection went: keep the samples for the next one
                    log.debug("could not send metrics: %s", exc)
            await asyncio.sleep(self.interval)


def seconds_from_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable ``name``, or the default."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def shipper_for(reconciler: Any, interval: float, batch_seconds: float) -> MetricsShipper:
    """The agent's metrics: its reconciler's workloads on its inventory's devices, read through
    NVML when the inventory has real devices."""
    real = any(not gpu.simulated for node in reconciler.inventory.nodes for gpu in node.gpus)
    sampler = MetricsSampler(
        lambda: reconciler.inventory,  # replaced when devices change
        statuses=reconciler.actual,
        specs=lambda: reconciler.desired,
        processes=local_workload_processes(reconciler.runtime),
        reader=NvmlReader.open() if real else None,
    )
    return MetricsShipper(sampler, interval, batch_seconds)
