"""Snapshot and decision types of the scheduling core (see KAI-Scheduler's ``api``)."""

from agent.scheduler.api.cluster import DEFAULT_GPU_MEMORY_MIB, DEFAULT_POOL, Node, PoolQuota, Queue
from agent.scheduler.api.snapshot import Outcome, PodPlacement, Snapshot
from agent.scheduler.api.whole_gpu import (
    ClusterSnapshot,
    Decisions,
    NodeSnapshot,
    PendingJob,
    Placement,
    RunningAllocation,
)
from agent.scheduler.api.workload import NON_PREEMPTIBLE_FROM, PRIORITY_CLASSES, RunningPod, Workload

__all__ = [
    "DEFAULT_GPU_MEMORY_MIB",
    "DEFAULT_POOL",
    "NON_PREEMPTIBLE_FROM",
    "PRIORITY_CLASSES",
    "ClusterSnapshot",
    "Decisions",
    "Node",
    "NodeSnapshot",
    "Outcome",
    "PendingJob",
    "Placement",
    "PodPlacement",
    "PoolQuota",
    "Queue",
    "RunningAllocation",
    "RunningPod",
    "Snapshot",
    "Workload",
]
