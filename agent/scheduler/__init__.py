"""The pure scheduling core: a function from a cluster snapshot to decisions.

It imports nothing from runtimes, the network or the GPU layer, so it can be tested with
scenarios, replayed on traces and replaced by a richer scheduler without touching its callers.
"""

from agent.scheduler.actions import allocate
from agent.scheduler.api import (
    ClusterSnapshot,
    Decisions,
    NodeSnapshot,
    PendingJob,
    Placement,
    RunningAllocation,
)
from agent.scheduler.session import Session

ACTIONS = (allocate,)
"""The actions of one cycle, in order."""


def schedule(snapshot: ClusterSnapshot) -> Decisions:
    """Run one scheduling cycle over ``snapshot``. Deterministic: the same snapshot always gives
    the same decisions."""
    session = Session(snapshot)
    for action in ACTIONS:
        action(session)
    return session.decisions()


__all__ = [
    "ACTIONS",
    "ClusterSnapshot",
    "Decisions",
    "NodeSnapshot",
    "PendingJob",
    "Placement",
    "RunningAllocation",
    "Session",
    "schedule",
]
