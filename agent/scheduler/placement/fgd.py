"""Fragmentation-aware policies: FGD as published, and Tessera's default built on it.

FGD (Fragmentation Gradient Descent) scores a placement by how much it increases the node's
expected fragment under the workload distribution and picks the smallest increase. Tessera keeps
that as the first criterion and breaks its (frequent, exact) ties by best fit, which keeps
partly used nodes filling up before fresh ones are opened.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from agent.scheduler.placement.capacity import device_need
from agent.scheduler.placement.fragmentation import FragmentModel, WorkloadClass
from agent.scheduler.placement.model import MILLI, NodeState, PodRequest
from agent.scheduler.placement.policies import BestFit


class FragmentationGradient:
    """FGD as its authors' simulator scores it: the decrease of the node's expected fragment (in
    GPUs, probability-weighted) through a sigmoid, scaled to 0-100 and truncated to an integer, as
    a Kubernetes score plugin must. The truncation makes near-equal placements tie, and ties go
    to the caller's node order."""

    name = "fgd"

    def __init__(self, classes: Sequence[WorkloadClass]) -> None:
        self.model = FragmentModel(classes)

    def increase(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> int:
        """How much placing ``pod`` on ``devices`` raises ``node``'s fragment (may be negative)."""
        taken: dict[int, int] = {}
        for device in node.devices:
            if device.index in devices:
                need = device_need(device, pod)
                taken[device.index] = 0 if need is None else need[0]
        before = self.model.node_fragment(node)
        return self.model.fragment_after(node, taken, pod.cpu_milli) - before

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """The smaller the fragment increase, the better (0-100, integer steps)."""
        decrease = -self.increase(node, pod, devices) / (self.model.total_count * MILLI)
        return float(int(100.0 / (1.0 + math.exp(-decrease))))


class Tessera(FragmentationGradient):
    """FGD first; among placements that fragment equally, the best fit (REPLAY.md's score)."""

    name = "tessera"

    def __init__(self, classes: Sequence[WorkloadClass]) -> None:
        super().__init__(classes)
        self._bestfit = BestFit()

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """Fragment increases are integers, so a tie-break bounded to [0, 0.5] never overrides one."""
        fit = min(1.0, max(0.0, self._bestfit.score(node, pod, devices)))
        return -self.increase(node, pod, devices) + 0.5 * fit
