"""Placement strategy: node and device choice through the shared placement package, with the
snapshot's policy (binpack by default, spread, or a fragmentation-aware one), and for CPU-only
pods its CPU placement strategy where it has one."""

from __future__ import annotations

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.session import Session
from agent.scheduler.placement import NodeState, PodRequest, candidates, cpu_policy, policy

MEMO_LIMIT = 200_000
"""Node choices remembered before the memo starts afresh (bounds a long cycle's memory)."""


def register(session: Session) -> None:
    """Choose every pod's node and devices with the configured policy."""
    name = session.snapshot.placement
    context = {}
    if name in ("fgd", "tessera"):
        context["pods"] = [job.request for job in session.jobs.values() if job.request.gpus > 0]
    if name == "tessera":
        # Tessera spares the GPU types that type-constrained pods depend on, as in the replay.
        context["nodes"] = list(session.nodes.values())
    chosen = policy(name, **context)
    by_cpu = None if session.snapshot.cpu_placement is None else cpu_policy(session.snapshot.cpu_placement)
    # (node, request) -> (node version, best score there or None, its devices). A score depends
    # only on the node's own capacity, which changes only with its version, and an action asks
    # the same few requests of mostly unchanged nodes over and over.
    memo: dict[tuple[str, PodRequest], tuple[int, float | None, tuple[int, ...]]] = {}

    def best_on(node: NodeState, request: PodRequest) -> tuple[float | None, tuple[int, ...]]:
        key = (node.name, request)
        found = memo.get(key)
        if found is None or found[0] != node.version:
            best_score: float | None = None
            best_devices: tuple[int, ...] = ()
            scorer = by_cpu if by_cpu is not None and request.gpus <= 0 else chosen
            # The first of equal scores wins, as in ``best_placement``: the tighter devices.
            for devices in candidates(node, request):
                value = scorer.score(node, request, devices)
                if best_score is None or value > best_score:
                    best_score, best_devices = value, devices
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            found = memo[key] = (node.version, best_score, best_devices)
        return found[1], found[2]

    def place_pod(job: Job) -> tuple[NodeState, tuple[int, ...]] | None:
        # ``best_placement`` node by node: the highest score wins, ties to the earlier node;
        # the session's node index keeps that ranking per request (see ``NodeIndex.best``).
        request = job.request
        node = session.best_node(job.pool, request, lambda node: best_on(node, request)[0])
        return None if node is None else (node, best_on(node, request)[1])

    session.place_pod = place_pod
