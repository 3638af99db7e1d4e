"""Statements: allocate and evict operations applied to the session at once, each with its
reverse, so an action can try evict-then-place and undo it all if the waiting job still does
not fit (KAI-Scheduler's Statement)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from agent.scheduler.framework.jobs import Job, PodAt

if TYPE_CHECKING:
    from agent.scheduler.framework.session import Session


class Statement:
    """An undo log over a session. Operations take effect immediately; ``rollback`` undoes those
    after a checkpoint, ``commit`` keeps them all, ``discard`` undoes them all."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._undo: list[Callable[[], None]] = []

    def checkpoint(self) -> int:
        """A mark to roll back to."""
        return len(self._undo)

    def rollback(self, checkpoint: int) -> None:
        """Undo every operation after ``checkpoint``, newest first."""
        while len(self._undo) > checkpoint:
            self._undo.pop()()

    def commit(self) -> None:
        """Keep every operation; the statement is empty afterwards."""
        self._undo.clear()

    def discard(self) -> None:
        """Undo every operation."""
        self.rollback(0)

    def place(self, job: Job) -> bool:
        """Place ``job``'s pods where the placement plugin chooses; all of them (its minimum for a
        gang) or, undoing the partial placement, none."""
        session = self.session
        placed: list[PodAt] = []
        for _ in range(job.workload.pods):
            found = session.place_pod(job)
            if found is None:
                break
            node, devices = found
            pod = session.take(job, node, devices)
            placed.append(pod)
        if len(placed) < session.min_available(job):
            for pod in reversed(placed):
                session.give(job, pod)
            return False
        if job.victim:
            session.placed.append((job, tuple(placed)))
        self._assign(job, tuple(placed))
        return True

    def place_at(self, job: Job, pods: tuple[PodAt, ...]) -> bool:
        """Place ``job`` exactly at ``pods`` (to restore it); False, changing nothing, if they are
        no longer free."""
        session = self.session
        taken: list[PodAt] = []
        for pod in pods:
            node = session.nodes[pod.node]
            try:
                taken.append(session.take(job, node, pod.devices))
            except ValueError:
                for done in reversed(taken):
                    session.give(job, done)
                return False
        self._assign(job, tuple(taken))
        return True

    def _assign(self, job: Job, pods: tuple[PodAt, ...]) -> None:
        self.session.account(job, pods)
        self._undo.append(lambda: self._unassign(job))

    def _unassign(self, job: Job) -> None:
        pods = job.pods or ()
        self.session.account(job, None)
        for pod in reversed(pods):
            self.session.give(job, pod)

    def unplace(self, job: Job) -> None:
        """Take ``job`` off its devices without counting an eviction (to put it somewhere else
        within the same step)."""
        pods = job.pods
        if pods is None:
            return
        session = self.session
        session.account(job, None)
        for pod in reversed(pods):
            session.give(job, pod)

        def undo() -> None:
            taken = tuple(session.take(job, session.nodes[pod.node], pod.devices) for pod in pods)
            session.account(job, taken)

        self._undo.append(undo)

    def evict(self, job: Job, reason: str) -> None:
        """Stop ``job`` (all its pods: a gang is evicted whole) and free what it holds."""
        pods = job.pods
        if pods is None:
            return
        self.stop(job, reason)
        self.release(job, pods)

    def release(self, job: Job, pods: tuple[PodAt, ...]) -> None:
        """Give back the capacity ``pods`` of the stopped ``job`` held (see ``stop``)."""
        session = self.session
        for pod in reversed(pods):
            session.give(job, pod)

        def undo() -> None:
            for pod in pods:
                session.take(job, session.nodes[pod.node], pod.devices)

        self._undo.append(undo)

    def resume(self, job: Job, pods: tuple[PodAt, ...]) -> None:
        """Count the stopped ``job`` as running on ``pods`` again, whose capacity it never gave
        back (see ``stop``)."""
        self.resume_many(((job, pods),))

    def resume_many(self, jobs: Sequence[tuple[Job, tuple[PodAt, ...]]]) -> None:
        """``resume`` each (job, pods) of ``jobs``."""
        session = self.session
        session.account_many(jobs)
        self._undo.append(lambda: session.account_many((job, None) for job, _ in jobs))

    def stop(self, job: Job, reason: str) -> None:
        """Evict ``job`` as far as its queues count it, keeping its capacity held until
        ``release``: a solver gives capacity back only where it may be used."""
        pods = job.pods
        if pods is None:
            return
        session = self.session
        session.account(job, None)
        # Only work that ran when the cycle began is evicted; un-placing this cycle's work is not.
        # The latest reason wins: it says why the job is stopped now.
        counted = job.original is not None
        previous = session.evicted.get(job.name)
        if counted:
            session.evicted[job.name] = reason

        def undo() -> None:
            if counted and previous is None:
                del session.evicted[job.name]
            elif counted and previous is not None:
                session.evicted[job.name] = previous
            session.account(job, pods)

        self._undo.append(undo)
