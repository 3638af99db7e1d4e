"""Nodes, node pools and queues (departments and projects) as a scheduling cycle sees them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_POOL = "default"
DEFAULT_GPU_MEMORY_MIB = 81920


@dataclass(frozen=True)
class Node:
    """A node of one pool: whole devices of one size, and optional CPU and memory capacity
    (``None`` means the node does not limit them). ``unhealthy`` devices are never used."""

    name: str
    gpus: int = 0
    pool: str = DEFAULT_POOL
    gpu_memory_mib: int = DEFAULT_GPU_MEMORY_MIB
    gpu_model: str = ""
    cpu_milli: int | None = None
    memory_mib: int | None = None
    unhealthy: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PoolQuota:
    """A queue's share of one pool, in milli-GPUs: deserved quota, over-quota weight, limit
    (-1 = no limit). CPU (millicores) and memory (MiB) quotas apply only where given: a limit
    caps all work, a deserved amount caps non-preemptible work."""

    deserved_milli: int = 0
    over_quota_weight: float = 1.0
    limit_milli: int = -1
    cpu_deserved_milli: int | None = None
    cpu_limit_milli: int = -1
    memory_deserved_mib: int | None = None
    memory_limit_mib: int = -1


@dataclass(frozen=True)
class Queue:
    """A department (no parent) or a project (with a parent); workloads belong to projects.

    ``min_runtime_s`` protects running work of this queue younger than that from eviction; a
    project without its own value inherits its parent's.
    """

    name: str
    parent: str | None = None
    quotas: Mapping[str, PoolQuota] = field(default_factory=dict)
    min_runtime_s: float | None = None

    def quota(self, pool: str) -> PoolQuota:
        """The quota on ``pool``; a pool the queue does not name gets no deserved quota, weight 1
        and no limit."""
        return self.quotas.get(pool, PoolQuota())
