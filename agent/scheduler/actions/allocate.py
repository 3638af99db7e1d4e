"""Allocate: place waiting jobs on free capacity, most starved queue first, within quota and
limits. A job that does not fit does not block the ones behind it."""

from __future__ import annotations

from agent.scheduler.framework.ordering import in_queue_order
from agent.scheduler.framework.session import PLACEMENT, Session


def allocate(session: Session) -> None:
    """Place every waiting job that is admitted and fits now; record why the others wait."""
    # Capacity only shrinks during this action, so a shape that did not fit never will.
    failed: set[tuple] = set()
    for job in in_queue_order(session, session.pending_jobs()):
        reason = session.admit(job)
        if reason is not None:
            session.reasons[job.name] = reason
            continue
        shape = (job.pool, job.request, job.workload.pods)
        if shape not in failed:
            statement = session.statement()
            if statement.place(job):
                statement.commit()
                session.reasons.pop(job.name, None)
                continue
            failed.add(shape)
        session.reasons[job.name] = PLACEMENT
