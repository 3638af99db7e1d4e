"""Placement: which node and which devices one pod should use.

Feasibility rules (``fits``, ``pick_devices``, ``take``, ``give_back``) are shared by every
policy, so no policy can oversubscribe a device; policies only rank feasible candidates, and
``best_placement`` picks the best one deterministically. The scheduler's actions and the trace
replay both place through this package.
"""

from agent.scheduler.placement.capacity import (
    candidates,
    device_fits,
    device_need,
    fits,
    give_back,
    node_admits,
    pick_devices,
    take,
)
from agent.scheduler.placement.fgd import FragmentationGradient
from agent.scheduler.placement.fill import FillModel, type_scarcity
from agent.scheduler.placement.fragmentation import (
    DEFAULT_DISTRIBUTION,
    FragmentModel,
    WorkloadClass,
    distribution,
)
from agent.scheduler.placement.index import NodeIndex
from agent.scheduler.placement.model import MILLI, Device, NodeState, PodRequest
from agent.scheduler.placement.policies import BestFit, BinPack, CpuPack, CpuSpread, Policy, Spread
from agent.scheduler.placement.search import CPU_POLICY_NAMES, POLICY_NAMES, best_placement, cpu_policy, policy
from agent.scheduler.placement.tessera import Tessera

__all__ = [
    "CPU_POLICY_NAMES",
    "DEFAULT_DISTRIBUTION",
    "MILLI",
    "POLICY_NAMES",
    "BestFit",
    "BinPack",
    "CpuPack",
    "CpuSpread",
    "Device",
    "FillModel",
    "FragmentModel",
    "FragmentationGradient",
    "NodeIndex",
    "NodeState",
    "PodRequest",
    "Policy",
    "Spread",
    "Tessera",
    "WorkloadClass",
    "best_placement",
    "candidates",
    "cpu_policy",
    "device_fits",
    "device_need",
    "distribution",
    "fits",
    "give_back",
    "node_admits",
    "pick_devices",
    "policy",
    "take",
    "type_scarcity",
]
