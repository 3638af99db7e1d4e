"""Reclaim: a queue below its fair share takes resources back by evicting preemptible work of
queues above theirs, only as much as the waiting job needs."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from agent.scheduler.framework.first_fit import FirstFit
from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.ordering import in_queue_order
from agent.scheduler.framework.session import Session
from agent.scheduler.framework.solver import Freed, evict_to_fit, evictable_by_queue, one_share_per_device


def reclaim(session: Session) -> None:
    """Start waiting jobs that are owed resources by evicting over-fair-share work."""
    failed: set[tuple] = set()
    checks = session.reclaim_victim_checks
    # Per pool, set of projects to take from, and request: where a lone pod first fits as
    # their victims go in order (see ``FirstFit``; the solver still asks each victim's
    # fair-share rule in turn). An index pays off from a key's second job on: the first scans,
    # and a shape that fails is not asked again.
    first_fits: dict[tuple, FirstFit] = {}
    asked: set[tuple] = set()
    # Per pool and set of projects: what all their victims hold, asked before an index is built
    # for a request whose bound is cheap to ask again (a bound need only be generous: victims
    # here only stop). Spares walking a long list for a job no eviction could make room for.
    freed_of: dict[tuple[str, frozenset[str]], Freed] = {}
    for job in in_queue_order(session, session.pending_jobs()):
        if job.pods is not None or session.admit(job) is not None or not session.may_reclaim(job):
            continue
        shape = (job.project, job.pool, job.request, job.workload.pods)
        if shape in failed:
            continue
        by_queue = evictable_by_queue(session)

        def over_share(victim: Job, job: Job = job) -> bool:
            for check in checks:
                if not check(job, victim):
                    return False
            return True

        def eligible(victim: Job) -> bool:
            return session.evictable(victim) and over_share(victim)

        # The fair-share checks judge a victim by its queues, so ask them once per project, then
        # walk the eligible projects' victims merged in victim order, only as far as needed.
        lists_of = {
            project: jobs
            for (project, pool), jobs in by_queue.items()
            if pool == job.pool and project != job.project and jobs and over_share(jobs[0])
        }
        victims = heapq.merge(
            *(_while_over_share(session, project, job.pool, jobs) for project, jobs in lists_of.items()),
            key=session.victim_key,
        )
        reason = f"reclaimed by project {job.project} for {job.name}"
        key = (job.pool, frozenset(lists_of), job.request, job.workload.pods)
        # Eligibility here depends on the victims stopped before: the index serves only where a
        # judge can say what the scan would, victim by victim.
        judge = _judge(session, job)
        first_fit = first_fits.get(key)
        if first_fit is None and key in asked and judge is not None:
            # Merged lazily: the index reads only as far as it needs.
            every = heapq.merge(*(list(by_queue[project, job.pool]) for project in key[1]), key=session.victim_key)
            first_fit = FirstFit(session, every, job.request, job.pool, session.evictable, job.workload.pods)
            first_fits[key] = first_fit
        asked.add(key)
        # Every victim of those projects: a bound need only be generous.
        candidates: Iterable[Job] | Freed = chain.from_iterable(lists_of.values())
        if first_fit is not None and not first_fit.built and one_share_per_device(job.request):
            candidates = freed_of.get(key[:2])  # type: ignore[assignment]
            if candidates is None:
                every = chain.from_iterable(session.victims_loaded[project, job.pool] for project in key[1])
                candidates = freed_of[key[:2]] = Freed(list(every))
        if lists_of and evict_to_fit(
            session,
            job,
            victims,
            eligible,
            reason,
            holds=lambda job=job: _holds(session, job),
            candidates=candidates,
            first_fit=first_fit,
            judge=judge,
        ):
            session.reasons.pop(job.name, None)
        else:
            failed.add(shape)


def _while_over_share(session: Session, project: str, pool: str, jobs: Iterable[Job]) -> Iterator[Job]:
    """The running jobs of ``jobs`` (in victim order) that reclaim could evict before their
    project is no longer over its fair share: evicting in order, each victim is judged with
    the ones before it gone, and the first one left within the share ends the list. Read as
    far as the scan goes, each victim's GPUs counted as they were when it was listed."""
    # A milli-GPU of slack against rounding: a job listed too many is only judged and skipped.
    room = session.reclaimable(project, pool) + 1.0
    for victim in jobs:
        if room <= 0:
            return
        if victim.pods is not None:
            milli = victim.milli
            yield victim
            room -= milli


def _judge(session: Session, job: Job) -> Callable[[], Callable[[Job], bool]] | None:
    """Makes judges of victims for ``job``: each says whether a victim is eligible (evictable,
    over its fair share) had the ones it passed before been stopped, from the reclaim rule's
    limits (``Session.reclaim_headroom``) and what those took from each queue, without stopping
    any. None when the session has rules whose limits it does not know."""
    headroom = session.reclaim_headroom
    if headroom is None or len(session.reclaim_victim_checks) != 1:
        return None

    def judge() -> Callable[[Job], bool]:
        lost: dict[tuple[str, str], int] = defaultdict(int)
        rooms_of: dict[str, list[tuple[tuple[str, str], float]] | None] = {}  # by the victim's project

        def eligible(victim: Job) -> bool:
            if not session.evictable(victim):
                return False
            if victim.project in rooms_of:
                rooms = rooms_of[victim.project]
            else:
                rooms = rooms_of[victim.project] = headroom(job, victim)
            if rooms is None:
                return False
            for key, room in rooms:
                if lost[key] >= room:
                    return False
            milli = victim.milli
            for key, _ in rooms:
                lost[key] += milli
            return True

        return eligible

    return judge


def _holds(session: Session, job: Job) -> bool:
    return session.admit(job) is None and session.may_reclaim(job)
