"""Placement strategy: node and device choice through the shared placement package, with the
snapshot's policy (binpack by default, spread, or a fragmentation-aware one)."""

from __future__ import annotations

from collections.abc import Sequence

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.session import Session
from agent.scheduler.placement import NodeState, best_placement, policy


def register(session: Session) -> None:
    """Choose every pod's node and devices with the configured policy."""
    name = session.snapshot.placement
    context = {}
    if name in ("fgd", "tessera"):
        context["pods"] = [job.request for job in session.jobs.values() if job.request.gpus > 0]
    chosen = policy(name, **context)

    def place_pod(job: Job, nodes: Sequence[NodeState]) -> tuple[NodeState, tuple[int, ...]] | None:
        return best_placement(nodes, job.request, chosen)

    session.place_pod = place_pod
