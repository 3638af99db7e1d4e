"""A workload's working state during a cycle: its per-pod request and where its pods are."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from agent.scheduler.api import Workload
from agent.scheduler.placement import MILLI, NodeState, PodRequest, device_need


@dataclass(slots=True)
class PodAt:
    """One placed pod: node, device indexes, milli-GPUs it holds in all, portion of each device.
    Never changed once made (not frozen only because a frozen dataclass is several times slower
    to make, and a large cycle loads a hundred thousand), so identical pods may share one."""

    node: str
    devices: tuple[int, ...]
    milli: int
    portion: float
    needs: tuple[tuple[int, int], ...] = ()
    """Per device, the (milli, memory MiB) the pod holds there."""


@dataclass(eq=False, slots=True)
class Job:
    """A workload in a session. ``pods`` is where it runs now (None while pending);
    ``original`` is where it ran when the cycle began. The workload's identity, queue and rank
    are copied into plain fields because every action reads them many times (see ``job_of``)."""

    workload: Workload
    request: PodRequest
    path: tuple[str, ...]
    estimate_milli: int
    rank: int
    started_at: float
    name: str
    project: str
    pool: str
    priority: int
    preemptible: bool
    submitted_at: float
    pods: tuple[PodAt, ...] | None = None
    original: tuple[PodAt, ...] | None = None
    victim: bool = False
    """Listed as a candidate victim this cycle (see ``solver.evictable_by_queue``)."""
    held_milli: int = 0
    """Milli-GPUs its pods hold while it runs (kept by ``Session.account``)."""

    @property
    def milli(self) -> int:
        """Milli-GPUs the job counts against quotas: what it holds, or its estimate while pending."""
        if self.pods is None:
            return self.estimate_milli
        return self.held_milli


def job_of(
    workload: Workload, request: PodRequest, path: tuple[str, ...], estimate: int, rank: int, started_at: float
) -> Job:
    """The job of ``workload`` in a session, its plain fields filled from the workload."""
    return Job(
        workload,
        request,
        path,
        estimate,
        rank,
        started_at,
        workload.name,
        workload.project,
        workload.pool,
        workload.priority,
        workload.is_preemptible,
        workload.submitted_at,
    )


def pod_request(workload: Workload) -> PodRequest:
    """The request of one of ``workload``'s pods, as the placement package takes it."""
    return _request(
        workload.gpus,
        workload.gpu_portion,
        workload.gpu_memory_mib,
        workload.cpu_milli,
        workload.memory_mib,
        workload.gpu_models,
    )


@lru_cache(maxsize=4096)
def _request(
    gpus: int,
    portion: float | None,
    memory: int | None,
    cpu_milli: int,
    memory_mib: int,
    models: frozenset[str] | None,
) -> PodRequest:
    # Clusters hold many workloads of few shapes; one shared request per shape.
    if gpus <= 0:
        milli = 0
    elif portion is not None:
        milli = max(1, round(portion * MILLI))
    else:
        milli = MILLI
    return PodRequest(
        gpus=max(gpus, 0),
        milli=milli,
        gpu_memory_mib=memory if gpus > 0 else None,
        cpu_milli=cpu_milli,
        memory_mib=memory_mib,
        gpu_models=models,
    )


def estimate_milli(workload: Workload, request: PodRequest, device_memory_mib: int) -> int:
    """Milli-GPUs a pending workload will hold, converting a memory request at ``device_memory_mib``
    (the largest device of its pool, so the estimate never overstates the need)."""
    if request.gpus <= 0:
        return 0
    if request.gpu_memory_mib is not None:
        per_device = -(-request.gpu_memory_mib * MILLI // max(device_memory_mib, 1))
    else:
        per_device = request.milli
    return per_device * request.gpus * workload.pods


def pod_at(node: NodeState, request: PodRequest, devices: tuple[int, ...]) -> PodAt:
    """The record of a pod placed on ``devices`` of ``node`` (before it takes them)."""
    if not devices:
        return PodAt(node=node.name, devices=devices, milli=0, portion=0.0)
    listed = node.devices
    if request.gpu_memory_mib is None:
        # A share or whole devices: the same part of each (devices listed by index, as usual).
        milli, count, share = request.milli, len(listed), []
        for i in devices:
            if not (0 <= i < count and listed[i].index == i):
                break
            share.append((milli, milli * listed[i].memory_mib // MILLI))
        else:
            return PodAt(node.name, devices, milli * len(devices), milli / MILLI, tuple(share))
    needs = []
    for index in devices:
        # Devices are usually listed by index.
        device = listed[index] if 0 <= index < len(listed) and listed[index].index == index else None
        if device is None:
            device = next((d for d in listed if d.index == index), None)
        if device is None and request.gpu_memory_mib is None:
            # No such device: taking it will say so.
            needs.append((request.milli, 0))
            continue
        need = None if device is None else device_need(device, request)
        if need is None or device is None:
            raise ValueError(f"device {index} of node {node.name} cannot hold {request.gpu_memory_mib} MiB")
        needs.append(need)
    if request.gpu_memory_mib is None or device is None:
        portion = request.milli / MILLI
    else:
        portion = request.gpu_memory_mib / device.memory_mib
    return PodAt(node.name, devices, sum(milli for milli, _ in needs), portion, tuple(needs))
