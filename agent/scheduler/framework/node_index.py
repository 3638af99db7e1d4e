"""Nodes grouped by their exact free capacity, so placing a pod scores one node per group.

Placement scores depend only on a node's capacity (the placement package's contract), so nodes in
the same state score the same and the earliest of them wins any tie. Scoring the earliest node of
every group, in node order, therefore picks exactly what scoring every node would. And since a
group's score for a request never changes, the groups are kept ranked per request and only the
groups a change touched are scored again: a choice costs the changes since the last one, not the
number of distinct states.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable

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
    """Per pool: groups of nodes with one signature, each a heap of node positions. A signature
    is known by a small number (its state) once seen, so the groups, their counts and the
    rankings' change log hash ints, not nested tuples."""

    def __init__(self, nodes: list[NodeState]) -> None:
        self._position = {node.name: i for i, node in enumerate(nodes)}
        self._nodes = nodes
        self._states: dict[Signature, int] = {}
        self._signatures: list[Signature] = []
        """Each state's signature, by state."""
        self._state: list[int] = []
        """Each node's state now, by node position."""
        self._groups: dict[str, dict[int, list[int]]] = defaultdict(dict)
        self._free: dict[str, int] = defaultdict(int)
        self._members: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        """Per pool and state: how many nodes are in that state now."""
        # Positions of nodes changed since the index was last read. Refiling is deferred to the
        # next read because solvers change the same nodes many times in between (evict, then
        # put back), and a node back in the state it was filed under needs no new entry.
        self._dirty: set[int] = set()
        # Every (pool, state) whose group gained or lost a node, in order, for the rankings
        # to catch up from; and the rankings, per (pool, what is ranked): a heap of
        # (-score, node position, tie, state) and how far into the log it has read.
        self._touched: list[tuple[str, int]] = []
        self._rankings: dict[tuple[str, Hashable], list] = {}
        self._ties = 0
        self._profiles: dict[int, list[int]] = {}
        """Per state: its healthy devices' free milli-GPUs, most first."""
        for node in nodes:
            self._state.append(-1)
            self._add(node, self._state_of(node))

    def _state_of(self, node: NodeState) -> int:
        key = signature(node)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = len(self._signatures)
            self._signatures.append(key)
        return state

    def _add(self, node: NodeState, state: int) -> None:
        position = self._position[node.name]
        self._state[position] = state
        heapq.heappush(self._groups[node.pool].setdefault(state, []), position)
        self._members[node.pool][state] += 1
        self._free[node.pool] += node.free_gpu_milli()

    def update(self, node: NodeState) -> None:
        """Note that ``node``'s capacity changed; it is refiled when the index is next read (its
        old group entry is dropped lazily)."""
        self._dirty.add(self._position[node.name])

    def _refile(self) -> None:
        for position in self._dirty:
            node = self._nodes[position]
            before, state = self._state[position], self._state_of(node)
            if state != before:
                pool, devices = self._signatures[before][0], self._signatures[before][-1]
                self._free[pool] -= sum(free for free, _, _, healthy in devices if healthy)
                self._members[pool][before] -= 1
                self._add(node, state)
                self._touched.append((pool, before))
                self._touched.append((node.pool, state))
        self._dirty.clear()

    def _earliest(self, pool: str, state: int) -> int | None:
        """The position of the earliest node in ``state`` in ``pool``, or None if none is."""
        heap = self._groups.get(pool, {}).get(state)
        if heap is None:
            return None
        now = self._state
        while heap and now[heap[0]] != state:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def best(self, pool: str, ranked: Hashable, score: Callable[[NodeState], float | None]) -> NodeState | None:
        """The node of ``pool`` with the highest ``score`` (None: cannot be chosen), ties to the
        earlier node: what scoring the earliest node of every group, in node order, picks. ``score`` must depend
        only on a node's signature and be the same for every call with one ``ranked`` (e.g.
        the request placed). The ranking is kept per ``ranked`` and only groups changed since
        the last call are scored again, so a choice costs the changes, not the groups."""
        self._refile()
        ranking = self._rankings.get((pool, ranked))
        if ranking is None:
            touched: Iterable[int] = list(self._groups.get(pool, {}))
            ranking = self._rankings[pool, ranked] = [[], 0]
        else:
            touched = {state for state_pool, state in self._touched[ranking[1] :] if state_pool == pool}
        ranking[1] = len(self._touched)
        heap = ranking[0]
        for state in touched:
            position = self._earliest(pool, state)
            if position is None:
                continue
            value = score(self._nodes[position])
            if value is not None and value > float("-inf"):
                self._ties += 1
                heapq.heappush(heap, (-value, position, self._ties, state))
        while heap:
            _, position, _, state = heap[0]
            if self._earliest(pool, state) == position:
                return self._nodes[position]
            heapq.heappop(heap)  # the group changed since: its new entry is in the heap
        return None

    def groups(self, pool: str, leaving_out: Iterable[str] = ()) -> list[tuple[NodeState, int]]:
        """Every group of ``pool`` as its earliest node (which stands for the group's state,
        left out or not) and how many nodes it holds, those named in ``leaving_out`` not counted
        (groups left empty are not listed): for questions whose answer depends only on a node's
        capacity."""
        self._refile()
        members = dict(self._members[pool])
        for name in leaving_out:
            position = self._position.get(name)
            if position is not None and self._nodes[position].pool == pool:
                members[self._state[position]] -= 1
        found = []
        for state, count in members.items():
            position = self._earliest(pool, state) if count > 0 else None
            if position is not None:
                found.append((position, self._nodes[position], count))
        return [(node, count) for _, node, count in sorted(found, key=lambda entry: entry[0])]

    def free_profile(self, name: str) -> list[int]:
        """The named node's healthy devices' free milli-GPUs, most first (one list shared by
        every node in that state: not to be changed)."""
        self._refile()
        state = self._state[self._position[name]]
        profile = self._profiles.get(state)
        if profile is None:
            devices = self._signatures[state][-1]  # sorted, least free first
            profile = self._profiles[state] = [free for free, _, _, healthy in reversed(devices) if healthy]
        return profile

    def free_milli(self, pool: str) -> int:
        """Free milli-GPUs on the healthy devices of ``pool``."""
        self._refile()
        return self._free[pool]
