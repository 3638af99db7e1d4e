"""Choosing a policy by name and finding the best feasible placement of one pod."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from agent.scheduler.placement.capacity import candidates
from agent.scheduler.placement.fgd import FragmentationGradient
from agent.scheduler.placement.fragmentation import DEFAULT_DISTRIBUTION, WorkloadClass, distribution
from agent.scheduler.placement.index import NodeIndex
from agent.scheduler.placement.model import NodeState, PodRequest
from agent.scheduler.placement.policies import BestFit, BinPack, CpuPack, CpuSpread, Policy, Spread
from agent.scheduler.placement.tessera import Tessera

POLICY_NAMES = ("binpack", "spread", "bestfit", "fgd", "tessera")
"""Every name ``policy`` accepts for placing pods with GPUs (and, by default, CPU-only ones)."""

CPU_POLICY_NAMES = ("binpack", "spread")
"""Every name ``cpu_policy`` accepts: a node pool's CPU placement strategy for CPU-only pods."""


def _classes(context: dict[str, Any]) -> Sequence[WorkloadClass]:
    """The workload distribution from a policy's context: ``distribution`` (classes) or ``pods``
    (requests to group), else the default."""
    if context.get("distribution"):
        return tuple(context["distribution"])
    if context.get("pods") is not None:
        return distribution(context["pods"], device_memory_mib=int(context.get("device_memory_mib", 0)))
    return DEFAULT_DISTRIBUTION


def policy(name: str = "binpack", **context: Any) -> Policy:
    """The policy called ``name``. Fragmentation-aware policies ("fgd", "tessera") take the
    workload distribution from ``distribution=`` (WorkloadClass list) or ``pods=`` (PodRequests);
    "tessera" also takes ``nodes=`` (the cluster) to learn which GPU types are scarce."""
    if name == "binpack":
        return BinPack()
    if name == "spread":
        return Spread()
    if name == "bestfit":
        return BestFit()
    if name == "fgd":
        return FragmentationGradient(_classes(context))
    if name == "tessera":
        return Tessera(_classes(context), nodes=context.get("nodes") or ())
    raise ValueError(f"unknown placement policy {name!r}; expected one of {', '.join(POLICY_NAMES)}")


def cpu_policy(name: str) -> Policy:
    """The CPU placement strategy called ``name``, for CPU-only pods."""
    if name == "binpack":
        return CpuPack()
    if name == "spread":
        return CpuSpread()
    raise ValueError(f"unknown CPU placement {name!r}; expected one of {', '.join(CPU_POLICY_NAMES)}")


def best_placement(
    nodes: Iterable[NodeState], pod: PodRequest, chosen: Policy
) -> tuple[NodeState, tuple[int, ...]] | None:
    """The feasible node with the highest score for ``pod`` and the devices to use there, or None.

    Ties go to the earlier node in ``nodes`` (and, inside a node, to the tighter devices), so
    the caller's order decides them and the result is deterministic. A ``NodeIndex`` gives the
    same answer faster.
    """
    if isinstance(nodes, NodeIndex):
        return nodes.best(pod, chosen)
    best: tuple[NodeState, tuple[int, ...]] | None = None
    best_score = float("-inf")
    for node in nodes:
        for devices in candidates(node, pod):
            value = chosen.score(node, pod, devices)
            if value > best_score:
                best, best_score = (node, devices), value
    return best
