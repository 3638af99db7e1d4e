"""Proportion: fair share per pool by water-filling over the queue tree, quota and limit
admission, queue order (most starved first) and who may reclaim from whom."""

from __future__ import annotations

from collections import defaultdict

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.queues import QueueTree
from agent.scheduler.framework.session import Session
from agent.scheduler.placement import MILLI
from agent.scheduler.plugins.water_fill import EPSILON, Claim, water_fill

STARVED_LAST = 1e12
"""The ratio of a queue with no fair share: it is served after every queue that has one."""


def gpus(milli: float) -> str:
    """Milli-GPUs as a short number of GPUs: 4000 -> "4", 500 -> "0.5"."""
    return f"{milli / MILLI:.3f}".rstrip("0").rstrip(".")


def register(session: Session) -> None:
    """Compute every queue's fair share and plug the quota rules into ``session``."""
    compute_fair_shares(session)
    tree = session.tree

    allocated = session.allocated
    # Per (project, pool): the queues from the top down with their fair shares, looked up once.
    shares: dict[tuple[str, str], list[tuple[tuple[str, str], float]]] = {}

    def queue_key(project: str, pool: str) -> tuple:
        path = shares.get((project, pool))
        if path is None:
            path = [((q, pool), session.fair_share.get((q, pool), 0.0)) for q in reversed(tree.path(project))]
            shares[project, pool] = path
        return tuple(
            allocated[key] / share if share > EPSILON else STARVED_LAST + allocated[key] for key, share in path
        )

    def quota_and_limit(job: Job, extra: int) -> str | None:
        for queue in job.path:
            quota = tree.quota(queue, job.pool)
            kind, used = tree.kind(queue), session.allocated[queue, job.pool]
            if quota.limit_milli >= 0 and used + extra > quota.limit_milli:
                if used >= quota.limit_milli:
                    return f"{kind} {queue} is at its GPU limit ({gpus(used)}/{gpus(quota.limit_milli)})"
                return (
                    f"{kind} {queue} would pass its GPU limit: {gpus(used)} of {gpus(quota.limit_milli)} "
                    f"in use, requests {gpus(extra)}"
                )
            held = session.non_preemptible[queue, job.pool]
            if not job.preemptible and held + extra > quota.deserved_milli:
                return (
                    f"{kind} quota exhausted for non-preemptible work: {kind} {queue} deserves "
                    f"{gpus(quota.deserved_milli)} GPUs on pool {job.pool}, {gpus(held)} in use, requests {gpus(extra)}"
                )
        return None

    def within_fair_share(job: Job, extra: int) -> str | None:
        # A waiting job is judged by its project alone (its victims may share its department);
        # once placed, every queue on its path must stay within its fair share.
        for queue in job.path if job.pods is not None else job.path[:1]:
            share = session.fair_share.get((queue, job.pool), 0.0)
            if session.allocated[queue, job.pool] + extra > share + EPSILON:
                return f"{queue} would pass its fair share"
        return None

    # Per (victim's project, reclaimer's project, pool): the victim's queues that compete with
    # the reclaimer's, each with the allocation above which it is over its share. Reclaim asks
    # this of every victim it scans, and the shares are fixed for the cycle.
    competing: dict[tuple[str, str, str], list[tuple[tuple[str, str], float]]] = {}

    def competing_queues(reclaimer: Job, victim: Job) -> list[tuple[tuple[str, str], float]]:
        queues = competing.get((victim.project, reclaimer.project, victim.pool))
        if queues is None:
            # Only the victim's queues below the common ancestor compete with the reclaimer's.
            queues = competing[victim.project, reclaimer.project, victim.pool] = [
                ((queue, victim.pool), session.fair_share.get((queue, victim.pool), 0.0) + EPSILON)
                for queue in victim.path
                if queue not in reclaimer.path
            ]
        return queues

    def over_fair_share(reclaimer: Job, victim: Job) -> bool:
        if victim.pool != reclaimer.pool or victim.project == reclaimer.project:
            return False
        for key, above in competing_queues(reclaimer, victim):
            if not allocated[key] > above:
                return False
        return True

    def headroom(reclaimer: Job, victim: Job) -> list[tuple[tuple[str, str], float]] | None:
        # ``over_fair_share`` as limits: it holds while each queue has lost less than its room.
        if victim.pool != reclaimer.pool or victim.project == reclaimer.project:
            return None
        return [(key, allocated[key] - above) for key, above in competing_queues(reclaimer, victim)]

    def reclaimable(project: str, pool: str) -> float:
        # ``over_fair_share`` holds for a victim while its project stays above its share.
        return session.allocated[project, pool] - session.fair_share.get((project, pool), 0.0) - EPSILON

    session.queue_key = queue_key
    session.reclaimable = reclaimable
    session.admissions.append(quota_and_limit)
    session.reclaimer_checks.append(within_fair_share)
    session.reclaim_victim_checks.append(over_fair_share)
    session.reclaim_headroom = headroom


def compute_fair_shares(session: Session) -> None:
    """Fill ``session.fair_share`` for every queue and pool, from demand (held plus waiting)."""
    demand: dict[tuple[str, str], float] = defaultdict(float)
    for job in session.jobs.values():
        demand[job.project, job.pool] += job.milli
    capacity: dict[str, float] = defaultdict(float)
    for node in session.nodes.values():
        capacity[node.pool] += node.total_gpu_milli()
    pools = set(capacity) | {job.pool for job in session.jobs.values()}
    for pool in sorted(pools):
        _fill(session, demand, None, pool, capacity[pool])


# Module functions rather than closures: a recursive closure is a reference cycle, which would
# keep the session alive until the cycle collector runs.
def _total_demand(tree: QueueTree, demand: dict[tuple[str, str], float], queue: str, pool: str) -> float:
    """What ``queue`` and its children want of ``pool``, each child capped at its limit."""
    own = demand[queue, pool]
    for child in tree.children.get(queue, []):
        limit = tree.queues[child].quota(pool).limit_milli
        wanted = _total_demand(tree, demand, child, pool)
        own += wanted if limit < 0 else min(wanted, limit)
    demand[queue, pool] = own
    return own


def _fill(session: Session, demand: dict[tuple[str, str], float], parent: str | None, pool: str, share: float) -> None:
    """Share ``share`` of ``pool`` among ``parent``'s children by water-filling, and so on down."""
    tree = session.tree
    children = tree.children.get(parent, [])
    claims = []
    for child in children:
        quota = tree.queues[child].quota(pool)
        claims.append(
            Claim(
                quota.deserved_milli,
                quota.over_quota_weight,
                quota.limit_milli,
                _total_demand(tree, demand, child, pool),
            )
        )
    for child, child_share in zip(children, water_fill(share, claims), strict=True):
        session.fair_share[child, pool] = child_share
        _fill(session, demand, child, pool, child_share)
