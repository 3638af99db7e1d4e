"""FGD as published: the fragmentation-aware policy Tessera's default (:mod:`.tessera`) builds on.

FGD (Fragmentation Gradient Descent) scores a placement by how much it increases the node's
expected fragment under the workload distribution and picks the smallest increase.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from agent.scheduler.placement.capacity import device_need
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


def _sigmoid(x: float) -> float:
    """The logistic function, safe for any x."""
    if x < -60.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))
