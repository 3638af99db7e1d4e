"""Fair-share note: tell a waiting job's owner when reclaim cannot help because the project
already holds its fair share."""

from __future__ import annotations

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.session import Session
from agent.scheduler.plugins.proportion import gpus


def register(session: Session) -> None:
    """Add the note to reasons of jobs that wait for capacity and may not reclaim it."""

    def note(job: Job) -> str | None:
        if job.request.gpus <= 0 or session.may_reclaim(job):
            return None
        used = session.allocated[job.project, job.pool]
        share = session.fair_share.get((job.project, job.pool), 0.0)
        wanted = f"holds {gpus(used)} GPUs and asks for {gpus(job.milli)} more"
        return f"project {job.project} {wanted}, beyond its fair share of {gpus(share)}, so it cannot reclaim"

    session.reason_notes.append(note)
