"""The order in which waiting jobs are served: the most starved queue first, then by the job
order inside it. A queue's key is read afresh whenever the usage of a queue on its path has
changed since the last step, since each placement or eviction changes shares."""

from __future__ import annotations

import heapq
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
    # The queues by (share, head) in a heap, ties to the queue met first in ``jobs``; an entry
    # whose share or head has changed since is stale and dropped when met (the current one was
    # pushed when it changed).
    first_met = {key: i for i, key in enumerate(buckets)}
    order = [(shares[key], heads[key], first_met[key], key) for key in buckets]
    heapq.heapify(order)
    changes = session.usage_changes
    read = len(changes)
    while buckets:
        if len(changes) != read:
            stale = {key for path, pool in changes[read:] for queue in path for key in depending.get((queue, pool), ())}
            read = len(changes)
            for key in stale:
                if key in buckets:
                    share = shares[key] = session.queue_key(*key)
                    heapq.heappush(order, (share, heads[key], first_met[key], key))
        share, head, _, key = heapq.heappop(order)
        if key not in buckets or shares[key] is not share or heads[key] is not head:
            continue
        bucket = buckets[key]
        job = bucket.pop()
        if bucket:
            head = heads[key] = session.job_key(bucket[-1])
            heapq.heappush(order, (shares[key], head, first_met[key], key))
        else:
            del buckets[key], heads[key]
        yield job
