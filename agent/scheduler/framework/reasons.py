"""Human-readable reasons for a job that found no place, worded from the capacity the cycle
leaves behind (so they describe the cluster as the researcher will find it)."""

from __future__ import annotations

from agent.scheduler.framework.jobs import Job
from agent.scheduler.framework.session import Session
from agent.scheduler.placement import MILLI, NodeState, PodRequest, node_admits

LISTED_NODES = 8
"""Nodes named in a reason before the rest are only counted."""


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _cpu_and_memory(request: PodRequest) -> str:
    """The pod's CPU and memory, leaving out what it does not ask for."""
    parts = [f"{request.cpu_milli} CPU millicores"] if request.cpu_milli else []
    if request.memory_mib or not parts:
        parts.append(f"{request.memory_mib} MiB of memory")
    return " and ".join(parts)


def _need(request: PodRequest) -> str:
    if request.gpus <= 0:
        return _cpu_and_memory(request)
    if request.gpu_memory_mib is not None:
        return f"{request.gpu_memory_mib} MiB of GPU memory on {_count(request.gpus, 'device')}"
    if request.milli < MILLI:
        return f"{request.milli / MILLI:g} of a GPU on {_count(request.gpus, 'device')}"
    return _count(request.gpus, "GPU")


def _listing(nodes: list[NodeState], describe: object) -> str:
    shown = [describe(node) for node in nodes[:LISTED_NODES]]  # type: ignore[operator]
    if len(nodes) > LISTED_NODES:
        shown.append(f"and {len(nodes) - LISTED_NODES} more nodes")
    return ", ".join(shown)


def placement_reason(session: Session, job: Job) -> tuple[str, bool]:
    """Why none of ``job``'s placements fit now, and whether that is passing (capacity in use)
    rather than structural (no such node, device or pool)."""
    text = _reason(session, job)
    return text, "waiting for" in text


def _reason(session: Session, job: Job) -> str:
    request = job.request
    if not session.nodes:
        return "no nodes in the cluster"
    nodes = session.nodes_for(job)
    if not nodes:
        return f"no nodes in node pool {job.pool}"
    if request.gpus > 0 and request.gpu_models is not None:
        nodes = [node for node in nodes if node.gpu_model in request.gpu_models]
        if not nodes:
            return f"no node in pool {job.pool} has GPU model {' or '.join(sorted(request.gpu_models))}"
    largest = max(len(node.devices) for node in nodes)
    if request.gpus > largest:
        return f"requests {_count(request.gpus, 'GPU')} but the largest node has {largest}"
    memory = max((device.memory_mib for node in nodes for device in node.devices), default=0)
    if request.gpu_memory_mib is not None and request.gpu_memory_mib > memory:
        return f"requests {request.gpu_memory_mib} MiB of GPU memory but the largest device has {memory} MiB"
    prefix = ""
    if job.workload.pods > 1:
        fit = _pods_that_fit(session, job)
        prefix = f"gang of {job.workload.pods} pods ({f'only {fit}' if fit else 'none'} fit now), each "
    if request.gpus > 0 and not any(node_admits(node, request) for node in nodes):
        return f"{prefix}waiting for {_cpu_and_memory(request)}"
    if request.gpus <= 0:
        return f"{prefix}waiting for {_need(request)}: no node has that much free"
    if request.whole:
        free = _listing(nodes, lambda n: f"{n.free_whole_devices()} of {len(n.devices)} free on node {n.name}")
        return f"{prefix}waiting for {_need(request)}: {free}"
    best = max(
        ((device.free_milli, device.free_memory_mib, node.name) for node in nodes for device in node.devices),
        default=(0, 0, ""),
    )
    return (
        f"{prefix}waiting for {_need(request)}: the freest device has {best[0] / MILLI:g} of a GPU "
        f"and {best[1]} MiB free (node {best[2]})"
    )


def _pods_that_fit(session: Session, job: Job) -> int:
    """How many of ``job``'s pods would fit now, one after another (tried, then given back)."""
    taken = []
    for _ in range(job.workload.pods):
        found = session.place_pod(job)
        if found is None:
            break
        taken.append(session.take(job, *found))
    for pod in reversed(taken):
        session.give(job, pod)
    return len(taken)
