"""Evict-then-place as one step: evict candidate victims one by one until the waiting job fits,
keep only the evictions it needed, or undo everything. No eviction is ever useless."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable

from agent.scheduler.framework.jobs import Job, PodAt
from agent.scheduler.framework.session import Session
from agent.scheduler.framework.statement import Statement
from agent.scheduler.placement import NodeState, fits


def evict_to_fit(
    session: Session,
    job: Job,
    victims: Iterable[Job],
    eligible: Callable[[Job], bool],
    reason: str,
    holds: Callable[[], bool],
    relocate: bool = False,
    max_victims: int | None = None,
) -> bool:
    """Try to start ``job`` by evicting ``victims`` in order (each only while ``eligible``).

    With ``relocate`` every victim must be placed again elsewhere (consolidation). ``holds``
    states the action's rule on the state reached (quota, fair share). Returns True and commits
    when ``job`` runs; otherwise the session is left exactly as it was.
    """
    statement = session.statement()
    # Capacity freed earlier in this action may already be enough.
    if session.admit(job) is None and statement.place(job) and holds():
        statement.commit()
        return True
    statement.discard()
    evicted: list[tuple[Job, tuple[PodAt, ...]]] = []
    # Evictions only add capacity, so once some node of the pool can take the job's first pod it
    # stays so; until then only the nodes a victim just left can change that, and trying to place
    # the job is bound to fail. Asked once here, then only of the victims' nodes.
    may_fit = session.min_available(job) < 1 or _first_pod_fits(session, job, session.candidate_nodes(job))
    for victim in victims:
        if max_victims is not None and len(evicted) >= max_victims:
            break
        if victim.pods is None or victim is job or not eligible(victim):
            continue
        evicted.append((victim, victim.pods))
        statement.evict(victim, reason)
        if not may_fit:
            may_fit = _first_pod_fits(session, job, [session.nodes[pod.node] for pod in evicted[-1][1]])
        if not may_fit or session.admit(job) is not None:
            continue
        mark = statement.checkpoint()
        if statement.place(job) and (not relocate or all(statement.place(moved) for moved, _ in evicted)) and holds():
            _keep_only_needed(statement, evicted, holds, relocate)
            statement.commit()
            return True
        statement.rollback(mark)
    statement.discard()
    return False


def _first_pod_fits(session: Session, job: Job, nodes: Iterable[NodeState]) -> bool:
    """Whether one of ``job``'s pods fits on one of ``nodes`` of its pool: the capacity rules
    every placement obeys, so a placement can succeed only where this holds."""
    return any(node.pool == job.pool and fits(node, job.request) for node in nodes)


def evictable_by_queue(session: Session) -> dict[tuple[str, str], deque[Job]]:
    """Jobs running when first asked that may be evicted at all (preemptible, old enough), by
    (project, pool), each in victim order. Built once per cycle, since neither rule changes within
    a cycle; jobs evicted since are dropped from the front as they are met, so each action walks
    only live candidates."""
    if session.victims is None:
        found: dict[tuple[str, str], list[Job]] = defaultdict(list)
        for job in session.running_jobs():
            if session.evictable(job):
                found[job.project, job.pool].append(job)
        session.victims = {key: deque(sorted(jobs, key=session.victim_key)) for key, jobs in found.items()}
    for jobs in session.victims.values():
        while jobs and jobs[0].pods is None:
            jobs.popleft()
    return session.victims


def _keep_only_needed(
    statement: Statement, evicted: list[tuple[Job, tuple[PodAt, ...]]], holds: Callable[[], bool], relocate: bool
) -> None:
    """Put back, where they were, the victims the job turned out not to need: the last chosen
    first, so the preferred victims (lowest priority, newest) are the ones that go."""
    for victim, before in reversed(evicted):
        mark = statement.checkpoint()
        if relocate:
            statement.unplace(victim)
        if statement.place_at(victim, before) and holds():
            continue
        statement.rollback(mark)
