"""One scheduling cycle: open a session with the plugins, run the actions, collect decisions."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from agent.scheduler.actions import ACTIONS
from agent.scheduler.api import Outcome, PodPlacement, Snapshot
from agent.scheduler.framework.jobs import Job, PodAt
from agent.scheduler.framework.reasons import placement_reason
from agent.scheduler.framework.session import PLACEMENT, Session
from agent.scheduler.plugins import DEFAULT_PLUGINS


def run_cycle(
    snapshot: Snapshot,
    actions: Iterable[Callable[[Session], None]] = ACTIONS,
    plugins: Iterable[Callable[[Session], None]] = DEFAULT_PLUGINS,
) -> Outcome:
    """Run one cycle over ``snapshot`` and return its decisions. Pure and deterministic: the same
    snapshot always gives the same outcome, and the snapshot is left unchanged."""
    with _cyclic_gc_paused():
        session = Session(snapshot, plugins)
        for action in actions:
            action(session)
        outcome = close(session)
        session.release()
        del session
    return outcome


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    # A cycle makes a few objects per workload and frees them all at its end; on a large
    # cluster Python's cycle collector would otherwise walk the whole heap again and again while
    # they are made (a third of a 140,000-workload cycle). Reference counting still frees, and
    # the session is released before the collector is back, or its first pass would walk every
    # object the cycle made (a fifth of the cycle again).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _same(a: tuple[PodAt, ...] | None, b: tuple[PodAt, ...] | None) -> bool:
    key = lambda pod: (pod.node, pod.devices)  # noqa: E731
    return a is not None and b is not None and sorted(a, key=key) == sorted(b, key=key)


def close(session: Session) -> Outcome:
    """The session's decisions: what starts, what stops (and why), why the rest waits."""
    placements: dict[str, tuple[PodPlacement, ...]] = {}
    evictions: dict[str, str] = {}
    pending: dict[str, str] = {}
    # Jobs of one shape wait for the same reason; word it once.
    worded: dict[tuple, tuple[str, bool]] = {}
    for job in session.jobs.values():
        if job.pods is not None:
            if job.pods is job.original or _same(job.pods, job.original):
                continue
            placements[job.name] = tuple(PodPlacement(pod.node, pod.devices, pod.portion) for pod in job.pods)
            if job.original is not None:
                evictions[job.name] = session.evicted.get(job.name, "moved")
        elif job.original is not None:
            evictions[job.name] = pending[job.name] = session.evicted.get(job.name, "evicted")
        else:
            pending[job.name] = _reason(session, job, worded)
    return Outcome(
        placements=placements,
        evictions=evictions,
        pending=pending,
        fair_share=session.fair_share,
        allocated=session.allocated,
    )


def _reason(session: Session, job: Job, worded: dict[tuple, tuple[str, bool]]) -> str:
    reason = session.reasons.get(job.name)
    if reason is None:
        reason = session.admit(job) or PLACEMENT
    if reason != PLACEMENT:
        return reason
    shape = (job.pool, job.request, job.workload.pods)
    if shape not in worded:
        worded[shape] = placement_reason(session, job)
    text, passing = worded[shape]
    if not passing:
        return text
    notes = [note for note in (add(job) for add in session.reason_notes) if note]
    return "; ".join([text, *notes])
