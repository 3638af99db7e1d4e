"""An indexed set of nodes for callers that place many pods in a row (a cycle, a trace replay).

``best_placement`` over a ``NodeIndex`` gives exactly the answer it gives over the plain list of
the same nodes in the same order; it is only faster:

- nodes are bucketed by GPU type and by the largest free share of any device, so a GPU pod only
  looks at nodes where at least one device could hold its share;
- each node remembers, per (policy, pod), its best candidate and score, valid until the node's
  ``version`` changes, so placing one pod only costs a re-score of the node that changed.

Change capacity through ``NodeIndex.take`` / ``NodeIndex.give_back`` (or call ``refresh`` after
changing a node some other way) so the buckets stay right.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from agent.scheduler.placement.capacity import candidates, give_back, take
from agent.scheduler.placement.model import MILLI, NodeState, PodRequest
from agent.scheduler.placement.policies import Policy

_Entry = tuple[int, float | None, tuple[int, ...]]
"""A cached evaluation: node version, best score (None: the pod does not fit), devices."""


def _largest_free(node: NodeState) -> int:
    """The largest free share of any healthy device (what a one-device pod could get)."""
    return max((d.free_milli for d in node.devices if d.healthy), default=0)


class NodeIndex:
    """Nodes in the caller's order (ties go to the earlier one), indexed for repeated placement."""

    cache_limit = 4096

    def __init__(self, nodes: Sequence[NodeState]) -> None:
        self.nodes = list(nodes)
        self._position = {id(node): pos for pos, node in enumerate(self.nodes)}
        self._bucket: list[tuple[str, int]] = []
        self._buckets: dict[str, dict[int, set[int]]] = {}
        self._scores: dict[tuple[Policy, PodRequest], list[_Entry | None]] = {}
        for pos, node in enumerate(self.nodes):
            key = (node.gpu_model, _largest_free(node))
            self._bucket.append(key)
            self._buckets.setdefault(key[0], {}).setdefault(key[1], set()).add(pos)

    def __iter__(self) -> Iterator[NodeState]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def refresh(self, node: NodeState) -> None:
        """Re-bucket ``node`` after its capacity changed outside ``take``/``give_back``."""
        pos = self._position[id(node)]
        key = (node.gpu_model, _largest_free(node))
        old = self._bucket[pos]
        if key != old:
            self._buckets[old[0]][old[1]].discard(pos)
            self._buckets.setdefault(key[0], {}).setdefault(key[1], set()).add(pos)
            self._bucket[pos] = key

    def take(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> None:
        """``capacity.take`` on a node of this index, keeping the index right."""
        take(node, pod, devices)
        self.refresh(node)

    def give_back(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> None:
        """``capacity.give_back`` on a node of this index, keeping the index right."""
        give_back(node, pod, devices)
        self.refresh(node)

    def _positions(self, pod: PodRequest) -> Iterator[int]:
        """Positions of the nodes that might fit ``pod`` by GPU type and largest free share."""
        if pod.gpus <= 0:
            yield from range(len(self.nodes))
            return
        # A memory request's share depends on each device's memory; 1 milli is a safe floor.
        floor = 1 if pod.gpu_memory_mib is not None else min(pod.milli, MILLI)
        for model, by_free in self._buckets.items():
            if pod.gpu_models is not None and model not in pod.gpu_models:
                continue
            for largest, members in by_free.items():
                if largest >= floor:
                    yield from members

    def _evaluate(self, node: NodeState, pod: PodRequest, chosen: Policy) -> _Entry:
        """The node's best candidate for ``pod``: tighter devices win ties inside the node."""
        best_score: float | None = None
        best_devices: tuple[int, ...] = ()
        for devices in candidates(node, pod):
            value = chosen.score(node, pod, devices)
            if best_score is None or value > best_score:
                best_score, best_devices = value, devices
        return node.version, best_score, best_devices

    def best(self, pod: PodRequest, chosen: Policy) -> tuple[NodeState, tuple[int, ...]] | None:
        """The same answer as ``best_placement(list(self), pod, chosen)``."""
        key = (chosen, pod)
        cache = self._scores.get(key)
        if cache is None:
            if len(self._scores) >= self.cache_limit:
                self._scores.clear()
            cache = [None] * len(self.nodes)
            self._scores[key] = cache
        nodes = self.nodes
        best_pos = -1
        best_score = float("-inf")
        best_devices: tuple[int, ...] = ()
        for pos in self._positions(pod):
            node = nodes[pos]
            entry = cache[pos]
            if entry is None or entry[0] != node.version:
                entry = self._evaluate(node, pod, chosen)
                cache[pos] = entry
            value = entry[1]
            if value is None:
                continue
            if value > best_score or (value == best_score and pos < best_pos):
                best_pos, best_score, best_devices = pos, value, entry[2]
        if best_pos < 0:
            return None
        return nodes[best_pos], best_devices
