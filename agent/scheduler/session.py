"""The working state of one scheduling cycle.

Actions never mutate the snapshot: they open a :class:`Session`, which keeps the free devices
of every node as placements are made, and record their outcome in it. A richer scheduler adds
plugins (ordering, filtering, scoring) and undoable statements here without changing actions'
callers.
"""

from __future__ import annotations

from agent.scheduler.api import ClusterSnapshot, Decisions, NodeSnapshot, PendingJob, Placement


class Session:
    """Free capacity per node, placements and pending reasons, for one cycle."""

    def __init__(self, snapshot: ClusterSnapshot) -> None:
        self.snapshot = snapshot
        held: dict[str, set[str]] = {node.name: set(node.used) for node in snapshot.nodes}
        for allocation in snapshot.running:
            held.setdefault(allocation.node, set()).update(allocation.devices)
        self._free: dict[str, list[str]] = {
            node.name: [d for d in node.devices if d not in held[node.name]] for node in snapshot.nodes
        }
        self._placements: dict[str, Placement] = {}
        self._reasons: dict[str, str] = {}

    @property
    def nodes(self) -> tuple[NodeSnapshot, ...]:
        return self.snapshot.nodes

    def free_devices(self, node: str) -> tuple[str, ...]:
        """Devices of ``node`` still free in this cycle, in placement order."""
        return tuple(self._free.get(node, ()))

    def ordered_pending(self) -> list[PendingJob]:
        """Pending jobs by priority (highest first), then submission time, then id."""
        return sorted(self.snapshot.pending, key=lambda j: (-j.priority, j.submitted_at, j.id))

    def allocate(self, job: PendingJob, node: str, devices: tuple[str, ...]) -> None:
        """Place ``job`` on ``devices`` of ``node``, which must be free."""
        free = self._free[node]
        missing = [d for d in devices if d not in free]
        if missing:
            raise ValueError(f"devices {missing} of node {node} are not free")
        self._free[node] = [d for d in free if d not in devices]
        self._placements[job.id] = Placement(node=node, devices=devices)
        self._reasons.pop(job.id, None)

    def keep_pending(self, job: PendingJob, reason: str) -> None:
        """Record why ``job`` stays pending this cycle."""
        self._reasons[job.id] = reason

    def decisions(self) -> Decisions:
        return Decisions(placements=dict(self._placements), pending_reasons=dict(self._reasons))
