"""Capacity-aware fragmentation: how much of a node's free GPU each class of pods could not use.

FGD's measure asks, per class, whether a pod of it fits at all. This one asks how many pods of
the class the node could still take before running out of devices *or CPU*, and counts the free
GPU milli they would leave unused. It sees what FGD misses on the trace: nodes whose free GPUs
are stranded because CPU-hungry or CPU-only pods used up their CPU first, and the remainders
that shares leave on devices (a 0.47 share on a free device strands 0.06 for 0.47 shares).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agent.scheduler.placement.fragmentation import DEFAULT_DISTRIBUTION, WorkloadClass
from agent.scheduler.placement.model import MILLI, NodeState


class FillModel:
    """Count-weighted unusable free GPU milli of node states, memoised per (GPU type, CPU, frees)."""

    memo_limit = 500_000

    def __init__(self, classes: Sequence[WorkloadClass], other_types: bool = True) -> None:
        self.classes = tuple(classes) or DEFAULT_DISTRIBUTION
        self.total_count = sum(c.count for c in self.classes)
        # Whether classes that may not use a node's GPU type count all its free GPUs as fragment
        # (as FGD does). That rewards spending the types few classes accept, which is wrong when
        # those few are the constrained pods that have nowhere else to go.
        self.other_types = other_types
        self._weight: dict[str, int] = {}
        self._per_model: dict[str, tuple[list[tuple[int, int]], list[list[tuple[int, int]]]]] = {}
        self._usable: dict[tuple[str, tuple[int, ...]], tuple[int, ...]] = {}
        self._memo: dict[tuple[str, int, tuple[int, ...]], int] = {}
        # id(node) -> (node, version, fragment): the fragment before a placement, per node state.
        self._current: dict[int, tuple[NodeState, int, int]] = {}

    def _shape(self, gpu_model: str) -> tuple[list[tuple[int, int]], list[list[tuple[int, int]]]]:
        """For one GPU type: the (devices, share) shapes allowed on it and, per shape, its classes'
        (CPU, count). Classes that cannot use this type never use any of its GPUs."""
        found = self._per_model.get(gpu_model)
        if found is None:
            shapes: dict[tuple[int, int], list[tuple[int, int]]] = {}
            blind = 0
            for cls in self.classes:
                if cls.gpus > 0 and (cls.gpu_models is None or gpu_model in cls.gpu_models):
                    shapes.setdefault((cls.gpus, cls.milli), []).append((cls.cpu_milli, cls.count))
                elif cls.gpus > 0:
                    blind += cls.count
            found = (list(shapes), list(shapes.values()))
            self._per_model[gpu_model] = found
            self._weight[gpu_model] = self.total_count - (0 if self.other_types else blind)
        return found

    def _fits_by_devices(self, gpu_model: str, frees: tuple[int, ...]) -> tuple[int, ...]:
        """Per allowed shape, how many such pods the devices alone could still take."""
        key = (gpu_model, frees)
        found = self._usable.get(key)
        if found is None:
            counts = []
            for gpus, milli in self._shape(gpu_model)[0]:
                if gpus == 1 and milli < MILLI:
                    counts.append(sum(free // milli for free in frees))
                else:
                    counts.append(sum(1 for free in frees if free >= milli) // gpus)
            found = tuple(counts)
            if len(self._usable) >= self.memo_limit:
                self._usable.clear()
            self._usable[key] = found
        return found

    def fragment(self, gpu_model: str, cpu_free: int | None, frees: tuple[int, ...]) -> int:
        """Count-weighted free GPU milli that the classes could not use on a node in this state."""
        cpu = -1 if cpu_free is None else cpu_free
        key = (gpu_model, cpu, frees)
        found = self._memo.get(key)
        if found is not None:
            return found
        shapes, members = self._shape(gpu_model)
        weight = self._weight[gpu_model]
        usable = 0
        for (gpus, milli), fit, classes in zip(shapes, self._fits_by_devices(gpu_model, frees), members, strict=True):
            if fit == 0:
                continue
            pods = 0
            for cpu_milli, count in classes:
                if cpu_free is None or cpu_milli == 0:
                    pods += count * fit
                else:
                    pods += count * min(fit, cpu // cpu_milli)
            usable += pods * gpus * milli
        value = weight * sum(frees) - usable
        if len(self._memo) >= self.memo_limit:
            self._memo.clear()
        self._memo[key] = value
        return value

    def node_fragment(self, node: NodeState) -> int:
        """The fragment of ``node`` as it is now."""
        known = self._current.get(id(node))
        if known is not None and known[0] is node and known[1] == node.version:
            return known[2]
        value = self.fragment_after(node, {}, 0)
        if len(self._current) >= self.memo_limit:
            self._current.clear()
        self._current[id(node)] = (node, node.version, value)
        return value

    def fragment_after(self, node: NodeState, taken: dict[int, int], cpu_milli: int) -> int:
        """The fragment of ``node`` after taking ``taken`` (device index -> milli) and ``cpu_milli``."""
        frees = tuple(sorted(d.free_milli - taken.get(d.index, 0) for d in node.devices if d.healthy))
        cpu = None if node.cpu_free_milli is None else node.cpu_free_milli - cpu_milli
        return self.fragment(node.gpu_model, cpu, frees)


def type_scarcity(classes: Sequence[WorkloadClass], nodes: Iterable[NodeState]) -> dict[str, float]:
    """Per GPU type, the GPU demand (probability-weighted) of classes restricted to a set of types
    that includes it, per unit of capacity of that set. High for types that constrained pods
    depend on and that are few; pods that may go elsewhere should spare them."""
    supply: dict[str, int] = {}
    for node in nodes:
        supply[node.gpu_model] = supply.get(node.gpu_model, 0) + node.total_gpu_milli()
    total = sum(c.count for c in classes) or 1
    scarcity: dict[str, float] = {}
    for cls in classes:
        if cls.gpus <= 0 or cls.gpu_models is None:
            continue
        capacity = sum(supply.get(model, 0) for model in cls.gpu_models)
        if capacity <= 0:
            continue
        pressure = cls.count / total * cls.gpus * cls.milli / capacity
        for model in cls.gpu_models:
            if model in supply:
                scarcity[model] = scarcity.get(model, 0.0) + pressure
    return scarcity
