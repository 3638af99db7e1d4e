"""Consolidate: move running preemptible work to other nodes when that, and only that, lets a
waiting job start (its quota allows it, but free capacity is scattered)."""

from __future__ import annotations

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.ordering import in_queue_order
from agent.scheduler.framework.session import Session
from agent.scheduler.framework.solver import evict_to_fit

MAX_MOVES = 16
"""Jobs one consolidation may try to move; bounds the work a hopeless job can cause."""


def consolidate(session: Session) -> None:
    """Start waiting jobs by moving others, when the snapshot allows moving running work."""
    if not session.snapshot.consolidation:
        return
    failed: set[tuple] = set()
    for job in in_queue_order(session, session.pending_jobs()):
        if job.pods is not None or job.request.gpus <= 0 or session.admit(job) is not None:
            continue
        shape = (job.pool, job.request, job.workload.pods)
        if shape in failed or session.free_milli(job.pool) < job.milli:
            continue
        free = {node.name: node.free_gpu_milli() for node in session.nodes_for(job)}

        def eligible(victim: Job, job: Job = job) -> bool:
            return session.evictable(victim) and victim.pool == job.pool and victim.request.gpus > 0

        def nearest_first(victim: Job, free: dict[str, int] = free) -> tuple:
            # Work on the node closest to fitting the job moves first.
            assert victim.pods is not None
            return (-free[victim.pods[0].node], session.victim_key(victim))

        victims = sorted((v for v in session.running_jobs() if eligible(v)), key=nearest_first)
        reason = f"moved to make room for {job.name}"
        if victims and evict_to_fit(
            session, job, victims, eligible, reason, lambda: True, relocate=True, max_victims=MAX_MOVES
        ):
            session.reasons.pop(job.name, None)
        else:
            failed.add(shape)
