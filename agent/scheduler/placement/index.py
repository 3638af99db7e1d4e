"""An indexed set of nodes for callers that place many pods in a row (a cycle, a trace replay).

``best_placement`` over a ``NodeIndex`` gives exactly the answer it gives over the plain list of
the same nodes in the same order; it is only faster. For each (policy, pod request) it asks
about, it keeps a heap of the nodes' best candidates ordered by (score, node order). A node's
entry is only recomputed after the node changed, so placing one pod costs a re-score of the
nodes changed since that request was last asked about, not of the whole cluster.

Change capacity through ``NodeIndex.take`` / ``NodeIndex.give_back``, or call ``refresh`` after
changing a node another way (its ``version`` must change too).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from agent.scheduler.placement.capacity import candidates, give_back, take
from agent.scheduler.placement.model import NodeState, PodRequest
from agent.scheduler.placement.policies import Policy


@dataclass
class _Ranking:
    """The heap of one (policy, pod): entries (-score, position, node version, devices); an entry
    is stale when its node's version moved on. ``seen`` is how much of the change log it has
    taken in."""

    heap: list[tuple[float, int, int, tuple[int, ...]]] = field(default_factory=list)
    seen: int = 0


class NodeIndex:
    """Nodes in the caller's order (ties go to the earlier one), indexed for repeated placement."""

    cache_limit = 2048

    def __init__(self, nodes: Sequence[NodeState]) -> None:
        self.nodes = list(nodes)
        self._position = {id(node): pos for pos, node in enumerate(self.nodes)}
        self._changes: list[int] = []
        self._rankings: dict[tuple[Policy, PodRequest], _Ranking] = {}

    def __iter__(self) -> Iterator[NodeState]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def refresh(self, node: NodeState) -> None:
        """Note that ``node`` changed (its version must have changed too)."""
        self._changes.append(self._position[id(node)])
        # A long-lived index would keep the whole history; past a few rounds of the cluster it is
        # cheaper to start every ranking afresh.
        if len(self._changes) > 8 * len(self.nodes) + 1024:
            self._changes.clear()
            self._rankings.clear()

    def take(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> None:
        """``capacity.take`` on a node of this index, keeping the index right."""
        take(node, pod, devices)
        self.refresh(node)

    def give_back(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> None:
        """``capacity.give_back`` on a node of this index, keeping the index right."""
        give_back(node, pod, devices)
        self.refresh(node)

    def _push(
        self, heap: list[tuple[float, int, int, tuple[int, ...]]], pos: int, pod: PodRequest, chosen: Policy
    ) -> None:
        """Score node ``pos``'s candidates (tighter devices win ties inside the node) and push the
        best, if the pod fits there at all."""
        node = self.nodes[pos]
        best_score: float | None = None
        best_devices: tuple[int, ...] = ()
        for devices in candidates(node, pod):
            value = chosen.score(node, pod, devices)
            if best_score is None or value > best_score:
                best_score, best_devices = value, devices
        if best_score is not None:
            heapq.heappush(heap, (-best_score, pos, node.version, best_devices))

    def _ranking(self, pod: PodRequest, chosen: Policy) -> _Ranking:
        """The up-to-date ranking of (chosen, pod): built on first use, then fed the changes."""
        key = (chosen, pod)
        ranking = self._rankings.get(key)
        if ranking is None or len(ranking.heap) > 4 * len(self.nodes) + 64:
            if len(self._rankings) >= self.cache_limit:
                self._rankings.clear()
            ranking = _Ranking(seen=len(self._changes))
            for pos in range(len(self.nodes)):
                self._push(ranking.heap, pos, pod, chosen)
            self._rankings[key] = ranking
            return ranking
        if ranking.seen < len(self._changes):
            for pos in set(self._changes[ranking.seen :]):
                self._push(ranking.heap, pos, pod, chosen)
            ranking.seen = len(self._changes)
        return ranking

    def best(self, pod: PodRequest, chosen: Policy) -> tuple[NodeState, tuple[int, ...]] | None:
        """The same answer as ``best_placement(list(self), pod, chosen)``."""
        heap = self._ranking(pod, chosen).heap
        nodes = self.nodes
        while heap:
            _, pos, version, devices = heap[0]
            if nodes[pos].version == version:
                return nodes[pos], devices
            heapq.heappop(heap)
        return None
