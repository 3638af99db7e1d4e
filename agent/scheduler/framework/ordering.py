"""The order in which waiting jobs are served: the most starved queue first, then by the job
order inside it. Keys are read afresh at every step, since each placement changes shares."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.session import Session


def in_queue_order(session: Session, jobs: Iterable[Job]) -> Iterator[Job]:
    """Yield ``jobs`` one at a time: the head of the (project, pool) whose queues are furthest
    below their fair share, ties by the job order (priority, then submission)."""
    buckets: dict[tuple[str, str], list[Job]] = defaultdict(list)
    for job in jobs:
        buckets[job.project, job.pool].append(job)
    for bucket in buckets.values():
        # Best job last, so taking the head is a pop.
        bucket.sort(key=session.job_key, reverse=True)
    while buckets:
        key = min(buckets, key=lambda k: (session.queue_key(*k), session.job_key(buckets[k][-1])))
        bucket = buckets[key]
        job = bucket.pop()
        if not bucket:
            del buckets[key]
        yield job
