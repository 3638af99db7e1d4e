"""The input and output of one scheduling cycle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.scheduler.api.cluster import Node, Queue
from agent.scheduler.api.workload import Workload


@dataclass(frozen=True)
class Snapshot:
    """Everything one cycle looks at: nodes in placement order, queues (parents before
    children), workloads (pending and running), the clock, and the placement policy.
    ``cpu_placement`` ("binpack" or "spread"), when given, places CPU-only pods by CPU instead
    (a node pool's CPU placement strategy); None: by ``placement`` as every pod."""

    nodes: tuple[Node, ...] = ()
    queues: tuple[Queue, ...] = ()
    workloads: tuple[Workload, ...] = ()
    now: float = 0.0
    placement: str = "binpack"
    consolidation: bool = True
    cpu_placement: str | None = None


@dataclass(frozen=True)
class PodPlacement:
    """Where one pod runs: node, device indexes, and the portion of each device it holds."""

    node: str
    gpus: tuple[int, ...] = ()
    portion: float = 1.0


@dataclass(frozen=True)
class Outcome:
    """The decisions of one cycle.

    ``placements`` start workloads (all pods); ``evictions`` stop running ones, with why. A
    workload in both is moved (evicted here, started there). ``pending`` gives a human-readable
    reason for every workload left waiting. ``fair_share`` and ``allocated`` (milli-GPUs, by queue
    and pool) are the cycle's own figures, read-only, for reporting: what each queue deserves by
    water-filling, and what it holds once the cycle's decisions are taken.
    """

    placements: Mapping[str, tuple[PodPlacement, ...]] = field(default_factory=dict)
    evictions: Mapping[str, str] = field(default_factory=dict)
    pending: Mapping[str, str] = field(default_factory=dict)
    fair_share: Mapping[tuple[str, str], float] = field(default_factory=dict)
    allocated: Mapping[tuple[str, str], int] = field(default_factory=dict)
