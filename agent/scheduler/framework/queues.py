"""The queue tree (departments > projects) and what each queue holds per pool."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from agent.scheduler.api import PoolQuota, Queue


class QueueTree:
    """Queues by name, their parents and children. A workload of an unknown project gets a
    queue of its own at the top, with no quota, so it can still borrow idle GPUs."""

    def __init__(self, queues: Sequence[Queue]) -> None:
        self.queues: dict[str, Queue] = {}
        self.children: dict[str | None, list[str]] = defaultdict(list)
        self._paths: dict[str, tuple[str, ...]] = {}
        # Quotas are read on every admission check; ``Queue.quota`` builds a default each time.
        self._quotas: dict[tuple[str, str], PoolQuota] = {}
        for queue in queues:
            self.add(queue)

    def add(self, queue: Queue) -> None:
        """Add ``queue`` under its parent (or at the top when the parent is unknown)."""
        parent = queue.parent if queue.parent in self.queues else None
        self.queues[queue.name] = queue
        self._paths.clear()
        self._quotas.clear()
        self.children[parent].append(queue.name)

    def ensure(self, name: str) -> None:
        """Make sure a queue called ``name`` exists."""
        if name not in self.queues:
            self.add(Queue(name=name))

    def parent(self, name: str) -> str | None:
        """The parent of ``name``, or None for a top-level queue (or an unknown parent)."""
        parent = self.queues[name].parent
        return parent if parent in self.queues else None

    def path(self, name: str) -> tuple[str, ...]:
        """``name`` and its ancestors, nearest first."""
        if name in self._paths:
            return self._paths[name]
        found = [name]
        parent = self.parent(name)
        while parent is not None and parent not in found:
            found.append(parent)
            parent = self.parent(parent)
        self._paths[name] = tuple(found)
        return self._paths[name]

    def quota(self, name: str, pool: str) -> PoolQuota:
        """The quota of queue ``name`` on ``pool`` (see ``Queue.quota``)."""
        found = self._quotas.get((name, pool))
        if found is None:
            found = self._quotas[name, pool] = self.queues[name].quota(pool)
        return found

    def kind(self, name: str) -> str:
        """ "project" for a queue without children, else "department"."""
        return "department" if self.children.get(name) else "project"

    def min_runtime(self, name: str) -> float:
        """The min runtime of ``name``: its own, else the nearest ancestor's, else 0."""
        for queue in self.path(name):
            value = self.queues[queue].min_runtime_s
            if value is not None:
                return value
        return 0.0
