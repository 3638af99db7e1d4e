"""The order in which waiting jobs are served: the most starved queue first, then by the job
order inside it. Queue keys are read afresh whenever an allocation has changed since the last
step, since each placement or eviction changes shares."""

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
    heads: dict[tuple[str, str], tuple] = {}
    for key, bucket in buckets.items():
        # Best job last, so taking the head is a pop.
        bucket.sort(key=session.job_key, reverse=True)
        heads[key] = session.job_key(bucket[-1])
    shares: dict[tuple[str, str], tuple] = {}
    seen = -1
    while buckets:
        if session.version != seen:
            seen = session.version
            shares = {key: session.queue_key(*key) for key in buckets}
        key = min(buckets, key=lambda k: (shares[k], heads[k]))
        bucket = buckets[key]
        job = bucket.pop()
        if bucket:
            heads[key] = session.job_key(bucket[-1])
        else:
            del buckets[key], heads[key]
        yield job
