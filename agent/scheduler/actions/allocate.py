"""Allocate: place pending jobs on whole free GPUs, first fit.

Jobs are taken by priority (highest first), then submission time, then id; each goes to the
first node, in snapshot order, with enough free devices, and takes the lowest free devices
there. A job that does not fit does not block the ones after it (smaller jobs may backfill);
fair share, quotas and preemption belong to richer actions.
"""

from __future__ import annotations

from agent.scheduler.api import PendingJob
from agent.scheduler.session import Session


def allocate(session: Session) -> None:
    """Place every pending job that fits now; give the others a reason."""
    waiting = []
    for job in session.ordered_pending():
        if not session.nodes:
            session.keep_pending(job, "no nodes in the cluster")
        elif job.gpu_devices == 0:
            session.allocate(job, session.nodes[0].name, ())
        elif not _first_fit(session, job):
            waiting.append(job)
    # Reasons describe the cluster as this cycle leaves it, after every placement.
    for job in waiting:
        session.keep_pending(job, _reason(session, job.gpu_devices))


def _first_fit(session: Session, job: PendingJob) -> bool:
    for node in session.nodes:
        free = session.free_devices(node.name)
        if len(free) >= job.gpu_devices:
            session.allocate(job, node.name, free[: job.gpu_devices])
            return True
    return False


def _gpus(count: int) -> str:
    return f"{count} GPU" if count == 1 else f"{count} GPUs"


def _reason(session: Session, wanted: int) -> str:
    largest = max(len(node.devices) for node in session.nodes)
    if wanted > largest:
        return f"requests {_gpus(wanted)} but the largest node has {largest}"
    free = ", ".join(
        f"{len(session.free_devices(node.name))} of {len(node.devices)} free on node {node.name}"
        for node in session.nodes
    )
    return f"waiting for {_gpus(wanted)}: {free}"
