"""Expected GPU fragmentation of a node under a workload distribution (FGD, Weng et al., ATC '23).

A node's free GPU milli counts as a fragment for a class of pods when that class cannot use it:
all of it when the class cannot land on the node at all, otherwise the devices too small for the
class. Weighting by how often each class arrives gives the node's expected fragment; a good
placement is one that increases it least. Fragments are kept as exact integers (count-weighted
milli) so that equal placements tie exactly and ties fall to the caller's node order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agent.scheduler.placement.model import MILLI, NodeState, PodRequest


@dataclass(frozen=True)
class WorkloadClass:
    """One kind of pod in the workload and how many of it were seen (its weight)."""

    gpus: int
    milli: int
    cpu_milli: int = 0
    gpu_models: frozenset[str] | None = None
    count: int = 1


DEFAULT_DISTRIBUTION: tuple[WorkloadClass, ...] = (
    WorkloadClass(gpus=1, milli=MILLI, count=4),
    WorkloadClass(gpus=1, milli=500, count=2),
    WorkloadClass(gpus=1, milli=250, count=2),
    WorkloadClass(gpus=2, milli=MILLI, count=1),
    WorkloadClass(gpus=4, milli=MILLI, count=1),
    WorkloadClass(gpus=8, milli=MILLI, count=1),
)
"""Used when the caller knows nothing about its workload: mostly single GPUs, some halves and
quarters, some multi-GPU pods."""


def distribution(
    pods: Iterable[PodRequest], coverage: float = 0.95, device_memory_mib: int = 0
) -> tuple[WorkloadClass, ...]:
    """Group ``pods`` by (CPU, share, devices, GPU types) and keep the most common groups until
    they cover ``coverage`` of the pods (REPLAY.md). Memory requests are converted with
    ``device_memory_mib`` and skipped when it is 0. Ties in frequency go to the smaller key so
    the result is deterministic."""
    counts: Counter[tuple[int, int, int, tuple[str, ...] | None]] = Counter()
    for pod in pods:
        milli = pod.milli
        if pod.gpu_memory_mib is not None:
            if device_memory_mib <= 0:
                continue
            milli = min(MILLI, -(-pod.gpu_memory_mib * MILLI // device_memory_mib))
        models = None if pod.gpu_models is None else tuple(sorted(pod.gpu_models))
        counts[(pod.cpu_milli, milli if pod.gpus > 0 else 0, pod.gpus, models)] += 1
    total = sum(counts.values())
    if total == 0:
        return DEFAULT_DISTRIBUTION
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], _sortable(kv[0])))
    kept: list[WorkloadClass] = []
    covered = 0
    for (cpu, milli, gpus, models), count in ranked:
        if covered >= coverage * total:
            break
        kept.append(WorkloadClass(gpus, milli, cpu, None if models is None else frozenset(models), count))
        covered += count
    return tuple(kept)


def _sortable(key: tuple[int, int, int, tuple[str, ...] | None]) -> tuple[int, int, int, tuple[str, ...]]:
    """A key that sorts even when the GPU types are None."""
    return (key[0], key[1], key[2], () if key[3] is None else ("~",) + key[3])


class FragmentModel:
    """Computes (and memoises) expected fragments of node states under one distribution.

    A node's fragment depends only on its GPU type, which CPU thresholds its free CPU clears and
    its sorted free milli per device, so that triple is the memo key: nodes of one kind in the
    same state share the work.
    """

    memo_limit = 500_000

    def __init__(self, classes: Sequence[WorkloadClass]) -> None:
        self.classes = tuple(classes) or DEFAULT_DISTRIBUTION
        self.total_count = sum(c.count for c in self.classes)
        self.cpu_thresholds = sorted({c.cpu_milli for c in self.classes})
        self._cpu_rank = [self.cpu_thresholds.index(c.cpu_milli) for c in self.classes]
        self._allowed: dict[str, list[bool]] = {}
        self._memo: dict[tuple[str, int, tuple[int, ...]], int] = {}
        # id(node) -> (node, version, fragment): the fragment before a placement, per node state.
        self._current: dict[int, tuple[NodeState, int, int]] = {}

    def cpu_level(self, cpu_free: int | None) -> int:
        """How many of the distribution's CPU requests fit in ``cpu_free`` (None: all of them)."""
        if cpu_free is None:
            return len(self.cpu_thresholds)
        return bisect_right(self.cpu_thresholds, cpu_free)

    def fragment(self, gpu_model: str, cpu_level: int, frees: tuple[int, ...]) -> int:
        """Count-weighted fragment (milli x pods) of a node with sorted free milli ``frees``."""
        key = (gpu_model, cpu_level, frees)
        found = self._memo.get(key)
        if found is not None:
            return found
        allowed = self._allowed.get(gpu_model)
        if allowed is None:
            allowed = [c.gpu_models is None or gpu_model in c.gpu_models for c in self.classes]
            self._allowed[gpu_model] = allowed
        prefix = [0]
        for free in frees:
            prefix.append(prefix[-1] + free)
        whole = prefix[-1]
        total = 0
        for cls, ok, rank in zip(self.classes, allowed, self._cpu_rank, strict=True):
            if cls.gpus <= 0 or not ok or rank >= cpu_level:
                total += cls.count * whole
                continue
            small = bisect_left(frees, cls.milli)
            total += cls.count * (whole if len(frees) - small < cls.gpus else prefix[small])
        if len(self._memo) >= self.memo_limit:
            self._memo.clear()
        self._memo[key] = total
        return total

    def node_fragment(self, node: NodeState) -> int:
        """Count-weighted fragment of ``node`` as it is now."""
        known = self._current.get(id(node))
        if known is not None and known[0] is node and known[1] == node.version:
            return known[2]
        frees = tuple(sorted(d.free_milli for d in node.devices if d.healthy))
        value = self.fragment(node.gpu_model, self.cpu_level(node.cpu_free_milli), frees)
        if len(self._current) >= self.memo_limit:
            self._current.clear()
        self._current[id(node)] = (node, node.version, value)
        return value

    def fragment_after(self, node: NodeState, taken: dict[int, int], cpu_milli: int) -> int:
        """Count-weighted fragment of ``node`` after taking ``taken`` (device index -> milli) and
        ``cpu_milli`` of CPU."""
        frees = tuple(sorted(d.free_milli - taken.get(d.index, 0) for d in node.devices if d.healthy))
        cpu = None if node.cpu_free_milli is None else node.cpu_free_milli - cpu_milli
        return self.fragment(node.gpu_model, self.cpu_level(cpu), frees)

    def ratio(self, nodes: Iterable[NodeState]) -> float:
        """The cluster's fragmentation ratio in %: expected fragments over free GPU milli."""
        fragments = 0
        free = 0
        for node in nodes:
            fragments += self.node_fragment(node)
            free += node.free_gpu_milli()
        if free == 0:
            return 0.0
        return 100.0 * fragments / (self.total_count * free)
