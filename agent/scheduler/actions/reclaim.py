"""Reclaim: a queue below its fair share takes resources back by evicting preemptible work of
queues above theirs, only as much as the waiting job needs."""

from __future__ import annotations

from collections import defaultdict

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.ordering import in_queue_order
from agent.scheduler.framework.session import Session
from agent.scheduler.framework.solver import evict_to_fit


def reclaim(session: Session) -> None:
    """Start waiting jobs that are owed resources by evicting over-fair-share work."""
    # Victims are work running when the action starts, by pool, in victim order.
    by_pool: dict[str, list[Job]] = defaultdict(list)
    for victim in sorted(session.running_jobs(), key=session.victim_key):
        if session.evictable(victim):
            by_pool[victim.pool].append(victim)
    failed: set[tuple] = set()
    for job in in_queue_order(session, session.pending_jobs()):
        if job.pods is not None or session.admit(job) is not None or not session.may_reclaim(job):
            continue
        shape = (job.project, job.pool, job.request, job.workload.pods)
        if shape in failed:
            continue

        def over_share(victim: Job, job: Job = job) -> bool:
            return all(check(job, victim) for check in session.reclaim_victim_checks)

        def eligible(victim: Job) -> bool:
            return session.evictable(victim) and over_share(victim)

        def holds(job: Job = job) -> bool:
            return session.admit(job) is None and session.may_reclaim(job)

        # The fair-share checks judge a victim by its queues, so ask them once per project.
        verdicts: dict[str, bool] = {}
        victims = []
        for victim in by_pool[job.pool]:
            if victim.pods is None:
                continue
            if victim.project not in verdicts:
                verdicts[victim.project] = over_share(victim)
            if verdicts[victim.project]:
                victims.append(victim)
        reason = f"reclaimed by project {job.project} for {job.name}"
        if victims and evict_to_fit(session, job, victims, eligible, reason, holds):
            session.reasons.pop(job.name, None)
        else:
            failed.add(shape)
