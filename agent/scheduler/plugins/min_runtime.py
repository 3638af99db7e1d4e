"""Min runtime: running work younger than its project's ``min_runtime_s`` is not evicted."""

from __future__ import annotations

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.session import Session


def register(session: Session) -> None:
    """Protect young work from every kind of eviction."""

    def old_enough(job: Job) -> bool:
        return session.now - job.started_at >= session.tree.min_runtime(job.project)

    session.evictable_checks.append(old_enough)
