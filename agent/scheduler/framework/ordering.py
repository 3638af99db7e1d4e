"""The order in which waiting jobs are served: the most starved queue first, then by the job
order inside it. A queue's key is read afresh whenever the usage of a queue on its path has
changed since the last step, since each placement or eviction changes shares."""

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
    # Per (queue, pool): the buckets whose key depends on that queue's usage.
    depending: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for key, bucket in buckets.items():
        # Best job last, so taking the head is a pop.
        bucket.sort(key=session.job_key, reverse=True)
        heads[key] = session.job_key(bucket[-1])
        for queue in session.tree.path(key[0]):
            depending[queue, key[1]].append(key)
    shares = {key: session.queue_key(*key) for key in buckets}
    changes = session.usage_changes
    read = len(changes)
    while buckets:
        if len(changes) != read:
            stale = {key for path, pool in changes[read:] for queue in path for key in depending.get((queue, pool), ())}
            read = len(changes)
            for key in stale:
                if key in buckets:
                    shares[key] = session.queue_key(*key)
        key = min(buckets, key=lambda k: (shares[k], heads[k]))
        bucket = buckets[key]
        job = bucket.pop()
        if bucket:
            heads[key] = session.job_key(bucket[-1])
        else:
            del buckets[key], heads[key]
        yield job
