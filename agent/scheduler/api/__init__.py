"""Snapshot and decision types of the scheduling core (see KAI-Scheduler's ``api``)."""

from agent.scheduler.api.cluster import DEFAULT_GPU_MEMORY_MIB, DEFAULT_POOL, Node, PoolQuota, Queue
from agent.scheduler.api.snapshot import Outcome, PodPlacement, Snapshot
from agent.scheduler.api.workload import NON_PREEMPTIBLE_FROM, PRIORITY_CLASSES, RunningPod, Workload

__all__ = [
    "DEFAULT_GPU_MEMORY_MIB",
    "DEFAULT_POOL",
    "NON_PREEMPTIBLE_FROM",
    "PRIORITY_CLASSES",
    "Node",
    "Outcome",
    "PodPlacement",
    "PoolQuota",
    "Queue",
    "RunningPod",
    "Snapshot",
    "Workload",
]
