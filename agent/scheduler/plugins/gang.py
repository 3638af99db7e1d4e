"""Gang: a workload starts with all its pods or not at all (its minimum is its size)."""

from __future__ import annotations

from agent.scheduler.framework.session import Session


def register(session: Session) -> None:
    """Every pod of a workload must be placed for any to start; eviction is always whole, since
    statements evict jobs, never single pods."""
    session.min_available = lambda job: job.workload.pods
