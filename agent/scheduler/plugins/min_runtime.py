"""Min runtime: running work younger than its project's ``min_runtime_s`` is not evicted."""

from __future__ import annotations

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.session import Session


def register(session: Session) -> None:
    """Protect young work from every kind of eviction."""

    least: dict[str, float] = {}  # per project, looked up once: every running job is asked

    def old_enough(job: Job) -> bool:
        minimum = least.get(job.project)
        if minimum is None:
            minimum = least[job.project] = session.tree.min_runtime(job.project)
        return session.now - job.started_at >= minimum

    session.evictable_checks.append(old_enough)
