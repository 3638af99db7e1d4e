"""Scoring policies: how to rank the feasible placements of one pod (higher is better).

A policy never decides feasibility (see :mod:`.capacity`); it scores a node as it would be after
the pod lands on the given devices. Scores must depend only on the node's capacity, so equal
nodes score equally and ties fall to the caller's node order.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agent.scheduler.placement.model import MILLI, NodeState, PodRequest


@runtime_checkable
class Policy(Protocol):
    """Ranks a candidate placement of ``pod`` on ``node`` using ``devices``; higher is better."""

    name: str

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """The score of placing ``pod`` on ``node`` using ``devices`` (node state before)."""
        ...


def gpu_taken(node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> int:
    """Milli-GPUs the placement takes from the node (memory requests converted per device)."""
    if not devices:
        return 0
    if pod.gpu_memory_mib is None:
        return pod.milli * len(devices)
    by_index = {d.index: d for d in node.devices}
    return sum(-(-pod.gpu_memory_mib * MILLI // by_index[i].memory_mib) for i in devices)


def device_free_after(node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> int:
    """Free milli left on the chosen devices after the placement (0 for whole devices)."""
    by_index = {d.index: d for d in node.devices}
    before = sum(by_index[i].free_milli for i in devices)
    return before - gpu_taken(node, pod, devices)


def _cpu_share_free_after(node: NodeState, pod: PodRequest) -> float:
    """Fraction of the node's CPU left free after the pod (0 when the node does not say)."""
    if node.cpu_free_milli is None or not node.cpu_total_milli:
        return 0.0
    return (node.cpu_free_milli - pod.cpu_milli) / node.cpu_total_milli


class BinPack:
    """Fill the most used nodes and devices first (KAI-Scheduler's gpu-pack), so whole nodes stay
    free for large pods. CPU-only pods pack by CPU."""

    name = "binpack"

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """Fewer free GPUs after the placement is better; then a tighter device; then less CPU."""
        free_after = node.free_gpu_milli() - gpu_taken(node, pod, devices)
        device_after = device_free_after(node, pod, devices)
        return -free_after / MILLI - device_after / (MILLI * 1000.0) - _cpu_share_free_after(node, pod) / 1e6


class Spread:
    """Use the least used nodes and devices first (KAI-Scheduler's gpu-spread), so pods interfere
    less with each other."""

    name = "spread"

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """More free GPUs after the placement is better; then a freer device; then more CPU."""
        free_after = node.free_gpu_milli() - gpu_taken(node, pod, devices)
        device_after = device_free_after(node, pod, devices)
        return free_after / MILLI + device_after / (MILLI * 1000.0) + _cpu_share_free_after(node, pod) / 1e6


def _memory_share_free_after(node: NodeState, pod: PodRequest) -> float:
    """Fraction of the node's memory left free after the pod (0 when the node does not say)."""
    if node.memory_free_mib is None or not node.memory_total_mib:
        return 0.0
    return (node.memory_free_mib - pod.memory_mib) / node.memory_total_mib


class CpuPack:
    """For CPU-only pods, a node pool's CPU bin-packing (KAI-Scheduler's cpu-pack): the node with
    the least CPU left free after the pod first, then the least memory, so whole nodes stay free
    for large pods. GPUs play no part."""

    name = "cpu-binpack"

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """Less CPU share free after the placement is better; then less memory share."""
        return -_cpu_share_free_after(node, pod) - _memory_share_free_after(node, pod) / 1e3


class CpuSpread:
    """For CPU-only pods, a node pool's CPU spreading (KAI-Scheduler's cpu-spread): the node with
    the most CPU left free after the pod first, then the most memory."""

    name = "cpu-spread"

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """More CPU share free after the placement is better; then more memory share."""
        return _cpu_share_free_after(node, pod) + _memory_share_free_after(node, pod) / 1e3


class BestFit:
    """The reference policy of the trace replay (REPLAY.md): score = 1 - (free CPU after / 128000)
    / 2 - (free GPU milli after / 8000) / 2. The node score ignores which device a shared pod
    joins; the caller offers the tightest device first, so ties inside a node go to it."""

    name = "bestfit"
    cpu_scale = 128000.0
    gpu_scale = 8000.0

    def score(self, node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> float:
        """REPLAY.md's best-fit score of the node after the placement."""
        cpu_after = 0 if node.cpu_free_milli is None else node.cpu_free_milli - pod.cpu_milli
        gpu_after = node.free_gpu_milli() - gpu_taken(node, pod, devices)
        return 1.0 - (cpu_after / self.cpu_scale) / 2.0 - (gpu_after / self.gpu_scale) / 2.0
