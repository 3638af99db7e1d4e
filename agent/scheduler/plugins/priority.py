"""Priority: job order (higher priority, then earlier submission), victim order (lower
priority, then newest first) and preemption inside a project."""

from __future__ import annotations

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.session import Session


def register(session: Session) -> None:
    """Plug job and victim order and the preemption rule into ``session``."""
    session.job_key = lambda job: (-job.priority, job.submitted_at, job.rank)
    session.victim_key = lambda job: (job.priority, -job.submitted_at, -job.rank)
    session.victim_fields = (("priority", False), ("submitted_at", True), ("rank", True))

    def lower_priority_in_project(preemptor: Job, victim: Job) -> bool:
        same_queue = victim.project == preemptor.project and victim.pool == preemptor.pool
        return same_queue and victim.priority < preemptor.priority

    session.preempt_victim_checks.append(lower_priority_in_project)
