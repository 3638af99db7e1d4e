"""A workload's working state during a cycle: its per-pod request and where its pods are."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.scheduler.api import Workload
from agent.scheduler.placement import MILLI, NodeState, PodRequest, device_need


@dataclass(frozen=True)
class PodAt:
    """One placed pod: node, device indexes, milli-GPUs it holds in all, portion of each device."""

    node: str
    devices: tuple[int, ...]
    milli: int
    portion: float


@dataclass(eq=False)
class Job:
    """A workload in a session. ``pods`` is where it runs now (None while pending);
    ``original`` is where it ran when the cycle began."""

    workload: Workload
    request: PodRequest
    path: tuple[str, ...]
    estimate_milli: int
    rank: int
    started_at: float = 0.0
    pods: tuple[PodAt, ...] | None = None
    original: tuple[PodAt, ...] | None = field(default=None)

    @property
    def name(self) -> str:
        return self.workload.name

    @property
    def project(self) -> str:
        return self.workload.project

    @property
    def pool(self) -> str:
        return self.workload.pool

    @property
    def priority(self) -> int:
        return self.workload.priority

    @property
    def preemptible(self) -> bool:
        return self.workload.is_preemptible

    @property
    def milli(self) -> int:
        """Milli-GPUs the job counts against quotas: what it holds, or its estimate while pending."""
        if self.pods is None:
            return self.estimate_milli
        return sum(pod.milli for pod in self.pods)


def pod_request(workload: Workload) -> PodRequest:
    """The request of one of ``workload``'s pods, as the placement package takes it."""
    if workload.gpus <= 0:
        milli = 0
    elif workload.gpu_portion is not None:
        milli = max(1, round(workload.gpu_portion * MILLI))
    else:
        milli = MILLI
    return PodRequest(
        gpus=max(workload.gpus, 0),
        milli=milli,
        gpu_memory_mib=workload.gpu_memory_mib if workload.gpus > 0 else None,
        cpu_milli=workload.cpu_milli,
        memory_mib=workload.memory_mib,
        gpu_models=workload.gpu_models,
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
    by_index = {device.index: device for device in node.devices}
    milli = 0
    portion = 0.0  # a CPU-only pod holds no device
    for index in devices:
        need = device_need(by_index[index], request)
        milli += need[0] if need is not None else request.milli
        if request.gpu_memory_mib is not None:
            portion = request.gpu_memory_mib / by_index[index].memory_mib
        else:
            portion = request.milli / MILLI
    return PodAt(node=node.name, devices=devices, milli=milli, portion=portion)
