"""Fragmentation-aware policies: FGD as published, and Tessera's default built on it.

FGD (Fragmentation Gradient Descent) scores a placement by how much it increases the node's
expected fragment under the workload distribution and picks the smallest increase. Tessera keeps
that as the first criterion and breaks its ties with a capacity-aware measure (:mod:`.fill`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from agent.scheduler.placement.capacity import device_need
from agent.scheduler.placement.fill import FillModel, type_scarcity
from agent.scheduler.placement.fragmentation import FragmentModel, WorkloadClass
from agent.scheduler.placement.model import MILLI, NodeState, PodRequest


class FragmentationGradient:
    """FGD as its authors' simulator scores it: the decrease of the node's expected fragment (in
    GPUs, probability-weighted) through a sigmoid, scaled to 0-100 and truncated to an integer, as
    a Kubernetes score plugin must. The truncation makes near-equal placements tie, and ties go
    to the caller's node order."""

    name = "fgd"

    def __init__(self, classes: Sequence[WorkloadClass]) -> None:
        self.model = FragmentModel(classes)

    @staticmethod
    def taken(node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> dict[int, int]:
        """Device index -> milli the placement takes."""
        taken: dict[int, int] = {}
        for device in node.devices:
            if device.index in devices:
                need = device_need(device, pod)
                taken[device.index] = 0 if need is None else need[0]
        return taken

    def increase(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> int:
        """How much placing ``pod`` on ``devices`` raises ``node``'s fragment (may be negative)."""
        before = self.model.node_fragment(node)
        return self.model.fragment_after(node, self.taken(node, pod, devices), pod.cpu_milli) - before

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """The smaller the fragment increase, the better (0-100, integer steps)."""
        decrease = -self.increase(node, pod, devices) / (self.model.total_count * MILLI)
        return float(int(100.0 * _sigmoid(decrease)))


class Tessera(FragmentationGradient):
    """Tessera's default: FGD's fragment first, in coarse steps; then capacity-aware fragmentation
    and GPU-type scarcity; then the caller's node order.

    On the Alibaba trace the exact FGD gradient does worse than the simulator's coarse one
    (94.2% against 95.2% allocated at arrived 100%): coarse steps make near-equal placements tie,
    and ties going to one fixed node order pack pods onto fewer nodes. Tessera keeps the
    simulator's ``steps``, and breaks
    the ties with :class:`FillModel`, which sees what FGD does not: free GPUs stranded because
    the node ran out of CPU (most of FGD's failures on the trace), and remainders too small for
    the shares that arrive. When the caller passes its nodes, the tie-break also spares GPU types
    that type-constrained pods depend on (``type_scarcity``), which FillModel alone would spend.
    """

    name = "tessera"
    steps = 100
    tie_sharpness = 10.0
    fill_other_types = True
    scarcity_weight = 30.0

    def __init__(
        self,
        classes: Sequence[WorkloadClass],
        fill_classes: Sequence[WorkloadClass] | None = None,
        nodes: Iterable[NodeState] = (),
    ) -> None:
        super().__init__(classes)
        self.fill = FillModel(fill_classes or classes, other_types=self.fill_other_types)
        # Known only when the caller passes its nodes: which GPU types constrained pods depend on.
        self.scarcity = type_scarcity(self.fill.classes, nodes)

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """Integer FGD steps plus a tie-break in (0, 0.5) that never overrides a step."""
        taken = self.taken(node, pod, devices)
        frees = tuple(sorted(d.free_milli - taken.get(d.index, 0) for d in node.devices if d.healthy))
        cpu = None if node.cpu_free_milli is None else node.cpu_free_milli - pod.cpu_milli
        fgd = self.model.fragment(node.gpu_model, self.model.cpu_level(cpu), frees) - self.model.node_fragment(node)
        fill = self.fill.fragment(node.gpu_model, cpu, frees) - self.fill.node_fragment(node)
        primary = int(self.steps * _sigmoid(-fgd / (self.model.total_count * MILLI)))
        tie = -fill / (self.fill.total_count * MILLI)
        if self.scarcity:
            tie -= self.scarcity_weight * self.scarcity.get(node.gpu_model, 0.0) * sum(taken.values())
        return primary + 0.5 * _sigmoid(self.tie_sharpness * tie)


def _sigmoid(x: float) -> float:
    """The logistic function, safe for any x."""
    if x < -60.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))
