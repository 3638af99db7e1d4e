"""Workloads: a gang of identical pods with a priority, a project and a GPU request."""

from __future__ import annotations

from dataclasses import dataclass

from agent.scheduler.api.cluster import DEFAULT_POOL

PRIORITY_CLASSES = {"train": 50, "build": 100, "interactive": 100, "inference": 125}
"""Run:ai's priority classes; a priority below ``NON_PREEMPTIBLE_FROM`` is preemptible by default."""

NON_PREEMPTIBLE_FROM = 100


@dataclass(frozen=True, slots=True)
class RunningPod:
    """One pod of a running workload: its node, the device indexes it holds, when it started."""

    node: str
    gpus: tuple[int, ...] = ()
    started_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Workload:
    """A workload of ``pods`` identical pods that start together or not at all.

    Each pod uses ``gpus`` devices, each wholly, at ``gpu_portion`` of it, or at
    ``gpu_memory_mib`` of its memory; ``gpu_portion_limit`` is a dynamic fraction's burstable
    limit, which placement ignores (it places by the request). ``running`` is empty for a
    pending workload, else one entry per pod.
    """

    name: str
    project: str
    priority: int = PRIORITY_CLASSES["train"]
    preemptible: bool | None = None
    pool: str = DEFAULT_POOL
    pods: int = 1
    gpus: int = 1
    gpu_portion: float | None = None
    gpu_memory_mib: int | None = None
    gpu_portion_limit: float | None = None
    cpu_milli: int = 0
    memory_mib: int = 0
    gpu_models: frozenset[str] | None = None
    submitted_at: float = 0.0
    running: tuple[RunningPod, ...] = ()

    @property
    def is_preemptible(self) -> bool:
        """Whether others may evict it: as stated, else by priority class."""
        if self.preemptible is not None:
            return self.preemptible
        return self.priority < NON_PREEMPTIBLE_FROM
