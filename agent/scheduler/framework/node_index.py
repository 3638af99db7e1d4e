"""Nodes grouped by their exact free capacity, so placing a pod scores one node per group.

Placement scores depend only on a node's capacity (the placement package's contract), so nodes in
the same state score the same and the earliest of them wins any tie. Scoring the earliest node of
every group, in node order, therefore picks exactly what scoring every node would, at the cost of
the number of distinct states rather than the number of nodes.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

from agent.scheduler.placement import NodeState

Signature = tuple


def signature(node: NodeState) -> Signature:
    """Everything about ``node`` that placement feasibility or scoring may read."""
    devices = tuple(sorted((d.free_milli, d.free_memory_mib, d.memory_mib, d.healthy) for d in node.devices))
    return (
        node.pool,
        node.gpu_model,
        node.cpu_free_milli,
        node.memory_free_mib,
        node.cpu_total_milli,
        node.memory_total_mib,
        devices,
    )


class NodeIndex:
    """Per pool: groups of nodes with one signature, each a heap of node positions."""

    def __init__(self, nodes: list[NodeState]) -> None:
        self._position = {node.name: i for i, node in enumerate(nodes)}
        self._nodes = nodes
        self._signature: dict[str, Signature] = {}
        self._groups: dict[str, dict[Signature, list[int]]] = defaultdict(dict)
        self._free: dict[str, int] = defaultdict(int)
        # Positions of nodes changed since the index was last read. Refiling is deferred to the
        # next read because solvers change the same nodes many times in between (evict, then
        # put back), and a node back in the state it was filed under needs no new entry.
        self._dirty: set[int] = set()
        for node in nodes:
            self._add(node)

    def _add(self, node: NodeState, key: Signature | None = None) -> None:
        key = signature(node) if key is None else key
        self._signature[node.name] = key
        heapq.heappush(self._groups[node.pool].setdefault(key, []), self._position[node.name])
        self._free[node.pool] += node.free_gpu_milli()

    def update(self, node: NodeState) -> None:
        """Note that ``node``'s capacity changed; it is refiled when the index is next read (its
        old group entry is dropped lazily)."""
        self._dirty.add(self._position[node.name])

    def _refile(self) -> None:
        for position in self._dirty:
            node = self._nodes[position]
            before, key = self._signature[node.name], signature(node)
            if key != before:
                self._free[before[0]] -= sum(free for free, _, _, healthy in before[-1] if healthy)
                self._add(node, key)
        self._dirty.clear()

    def representatives(self, pool: str) -> list[NodeState]:
        """The earliest node of every group in ``pool``, in node order."""
        self._refile()
        found: list[int] = []
        groups = self._groups.get(pool, {})
        for key in list(groups):
            heap = groups[key]
            while heap and self._signature[self._nodes[heap[0]].name] != key:
                heapq.heappop(heap)
            if heap:
                found.append(heap[0])
            else:
                del groups[key]
        return [self._nodes[i] for i in sorted(found)]

    def free_milli(self, pool: str) -> int:
        """Free milli-GPUs on the healthy devices of ``pool``."""
        self._refile()
        return self._free[pool]
