"""The pure scheduling core: a function from a cluster snapshot to decisions.

Layers as in KAI-Scheduler: ``api`` (snapshot and decision types), ``framework`` (session,
statement, ordering, the evict-then-place solver), ``plugins`` (fair share, priority, min
runtime, gang, placement strategy), ``actions`` (allocate, consolidate, reclaim, preempt) and
``placement`` (node and device choice, shared with the trace replay). It imports nothing from
runtimes, the network or the GPU layer, so it can be tested with scenarios
(``python -m agent.scheduler.simulate``), replayed on traces and benchmarked without a cluster.
"""

from agent.scheduler.actions import ACTIONS
from agent.scheduler.api import (
    Node,
    Outcome,
    PodPlacement,
    PoolQuota,
    Queue,
    RunningPod,
    Snapshot,
    Workload,
)
from agent.scheduler.cycle import run_cycle
from agent.scheduler.framework import Session, Statement

__all__ = [
    "ACTIONS",
    "Node",
    "Outcome",
    "PodPlacement",
    "PoolQuota",
    "Queue",
    "RunningPod",
    "Session",
    "Snapshot",
    "Statement",
    "Workload",
    "run_cycle",
]
