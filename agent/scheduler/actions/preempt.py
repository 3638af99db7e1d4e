"""Preempt: inside one project, a waiting job evicts running preemptible jobs of lower
priority, lowest priority and newest first, only as many as it needs."""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from itertools import islice
from operator import attrgetter

from agent.scheduler.framework.first_fit import FirstFit
from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.ordering import in_queue_order
from agent.scheduler.framework.session import Session
from agent.scheduler.framework.solver import Freed, evict_to_fit, evictable_by_queue


def preempt(session: Session) -> None:
    """Start waiting jobs by preempting lower-priority work of their own project."""
    failed: set[tuple] = set()
    # What each project's victims hold, counted once per pool for every priority (a bound need
    # only be generous): only their eviction changes it and counting an evicted one again only
    # makes the bound more so, but a victim placed anew (``session.placed``) may hold something
    # else now, so that is counted too.
    freed: dict[tuple[str, str], list] = {}
    listed: dict[tuple[str, str, int], list[Job]] = {}
    # Per list and request: where a lone pod first fits as the list is evicted (victims here only
    # stop, so the index holds for the action).
    first_fits: dict[tuple, FirstFit] = {}
    checks = session.preempt_victim_checks
    for job in in_queue_order(session, session.pending_jobs()):
        if job.pods is not None:
            continue
        shape = (job.project, job.pool, job.priority, job.preemptible, job.request, job.workload.pods)
        if shape in failed:
            continue
        by_queue = evictable_by_queue(session)

        def eligible(victim: Job, job: Job = job) -> bool:
            if not session.evictable(victim):
                return False
            for check in checks:
                if not check(job, victim):
                    return False
            return True

        def holds(job: Job = job) -> bool:
            return session.admit(job) is None

        # Victim order puts lower priorities first, so the candidates are a prefix of the list.
        # The lists only lose jobs (evicted ones, which the solver skips), so one is kept.
        key = (job.project, job.pool, job.priority)
        victims = listed.get(key)
        if victims is None:
            candidates = by_queue.get((job.project, job.pool), deque())
            lower = bisect_left(candidates, job.priority, key=attrgetter("priority"))
            victims = listed[key] = list(islice(candidates, lower))
        reason = f"preempted by {job.name} (priority {job.priority}) in project {job.project}"
        if not victims:
            failed.add(shape)
            continue
        counted = freed.get((job.project, job.pool))
        if counted is None:
            every = session.victims_loaded.get((job.project, job.pool), [])
            counted = freed[job.project, job.pool] = [len(session.placed), Freed(every)]
        for placed, pods in session.placed[counted[0] :]:
            if placed.project == job.project and placed.pool == job.pool:
                counted[1].add(placed, pods)
        counted[0] = len(session.placed)
        first_fit = first_fits.get((key, job.request, job.workload.pods))
        if first_fit is None:
            first_fit = FirstFit(session, victims, job.request, job.pool, eligible, job.workload.pods)
            first_fits[key, job.request, job.workload.pods] = first_fit
        if evict_to_fit(session, job, victims, eligible, reason, holds, candidates=counted[1], first_fit=first_fit):
            session.reasons.pop(job.name, None)
        else:
            failed.add(shape)
