"""Synthetic clusters for the benchmark, built deterministically from a seed.

A case is a cluster of 8-GPU nodes under four departments of five projects each, some of them
holding far more than their deserved quota and some far less, with running work already packed
onto the nodes and a queue of pending work of every kind the scheduler handles: whole devices,
fractions by portion and by memory, several devices at one portion, gangs, CPU-only work,
preemptible training and non-preemptible build, interactive and inference work. The pending
queue asks for far more than is free, so one cycle allocates, reclaims from over-quota projects
and preempts inside projects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from agent.scheduler.api import Node, PoolQuota, Queue, RunningPod, Snapshot, Workload

GPUS_PER_NODE = 8
NODE_CPU_MILLI = 192_000
NODE_MEMORY_MIB = 2_097_152
GPU_MEMORY_MIB = 81_920
NOW = 100_000.0
PROBES = 48
"""Nodes a running pod tries, from a random start, before the generator drops it."""

# Shape name -> (pods, GPUs per pod, portion, GPU memory MiB, CPU milli, memory MiB).
SHAPES: dict[str, tuple[int, int, float | None, int | None, int, int]] = {
    "whole1": (1, 1, None, None, 8_000, 65_536),
    "whole2": (1, 2, None, None, 16_000, 131_072),
    "whole4": (1, 4, None, None, 32_000, 262_144),
    "whole8": (1, 8, None, None, 64_000, 524_288),
    "half": (1, 1, 0.5, None, 4_000, 32_768),
    "quarter": (1, 1, 0.25, None, 2_000, 16_384),
    "memory": (1, 1, None, 20_480, 2_000, 16_384),
    "two-halves": (1, 2, 0.5, None, 8_000, 65_536),
    "gang8": (3, 8, None, None, 64_000, 524_288),
    "gang1": (4, 1, None, None, 8_000, 65_536),
    "cpu": (1, 0, None, None, 3_000, 8_192),
}

MIXED = {
    "whole1": 25,
    "whole2": 10,
    "whole4": 6,
    "whole8": 4,
    "half": 12,
    "quarter": 10,
    "memory": 6,
    "two-halves": 2,
    "gang8": 1.5,
    "gang1": 2,
    "cpu": 15,
}
"""A training cluster's mix: mostly whole devices, some sharing, a few gangs."""

DENSE = {
    "cpu": 50,
    "quarter": 20,
    "memory": 10,
    "half": 8,
    "whole1": 5,
    "whole2": 1,
    "whole4": 0.4,
    "gang1": 0.3,
}
"""A shared cluster's mix: most pods CPU-only or fractional."""

# Per project of a department: share of the department's quota, and how heavily the project
# runs and waits relative to it (the first ones run far over quota, the last ones wait).
PROJECT_QUOTA = (0.4, 0.25, 0.15, 0.1, 0.1)
RUNNING_WEIGHT = (1.2, 1.1, 1.0, 0.9, 0.8)
PENDING_WEIGHT = (0.6, 0.8, 1.0, 1.6, 2.0)
# Skewed: the first project of each department runs at about three times its share, the last
# ones at a tenth, and more high-priority work waits; a cycle then reclaims and preempts
# thousands of jobs.
SKEWED_RUNNING_WEIGHT = (3.0, 1.2, 0.6, 0.2, 0.1)
SKEWED_PENDING_WEIGHT = (0.5, 0.8, 1.0, 2.5, 3.0)
DEPARTMENT_QUOTA = (0.35, 0.25, 0.25, 0.15)

# (priority, preemptible or None for the class default, weight)
RUNNING_PRIORITY = ((50, None, 88), (100, None, 7), (125, None, 5))
PENDING_PRIORITY = ((50, None, 90), (75, True, 4), (100, None, 4), (125, None, 2))
SKEWED_PENDING_PRIORITY = ((50, None, 70), (75, True, 15), (100, None, 10), (125, None, 5))


@dataclass(frozen=True)
class CaseSize:
    """How big a case is and which mix its running work follows (pending work is always mixed)."""

    nodes: int
    running: int
    pending: int
    running_mix: dict[str, float]
    running_weight: tuple[float, ...] = RUNNING_WEIGHT
    pending_weight: tuple[float, ...] = PENDING_WEIGHT
    pending_priority: tuple[tuple[int, bool | None, float], ...] = PENDING_PRIORITY


CASES = {
    "tiny": CaseSize(nodes=12, running=40, pending=60, running_mix=MIXED),
    "cluster-1k": CaseSize(nodes=1_000, running=4_000, pending=10_000, running_mix=MIXED),
    "cluster-4k": CaseSize(nodes=4_000, running=130_000, pending=10_000, running_mix=DENSE),
}
CASES["cluster-1k-skewed"] = replace(
    CASES["cluster-1k"],
    running_weight=SKEWED_RUNNING_WEIGHT,
    pending_weight=SKEWED_PENDING_WEIGHT,
    pending_priority=SKEWED_PENDING_PRIORITY,
)
CASES["cluster-4k-skewed"] = replace(
    CASES["cluster-4k"],
    running_weight=SKEWED_RUNNING_WEIGHT,
    pending_weight=SKEWED_PENDING_WEIGHT,
    pending_priority=SKEWED_PENDING_PRIORITY,
)
"""The benchmark's cases by name: issue 3's two clusters, each also with projects far over and
under quota ("-skewed"), and a tiny one for tests."""


def _queues(capacity_milli: int) -> tuple[tuple[Queue, ...], list[str]]:
    queues: list[Queue] = []
    projects: list[str] = []
    for d, department_share in enumerate(DEPARTMENT_QUOTA):
        department = f"dept-{d}"
        deserved = round(capacity_milli * department_share)
        # The last department protects young work, so min runtime shapes its eviction too.
        min_runtime = 600.0 if d == len(DEPARTMENT_QUOTA) - 1 else None
        queues.append(Queue(department, quotas={"default": PoolQuota(deserved)}, min_runtime_s=min_runtime))
        for p, project_share in enumerate(PROJECT_QUOTA):
            name = f"{department}-proj-{p}"
            quota = PoolQuota(round(deserved * project_share), over_quota_weight=1.0 + (p % 2))
            queues.append(Queue(name, parent=department, quotas={"default": quota}))
            projects.append(name)
    return tuple(queues), projects


def _weights(projects: list[str], per_project: tuple[float, ...]) -> list[float]:
    return [
        DEPARTMENT_QUOTA[int(name.split("-")[1])] * PROJECT_QUOTA[int(name[-1])] * per_project[int(name[-1])]
        for name in projects
    ]


def _workload(rng: random.Random, name: str, project: str, shape: str, priorities: tuple, submitted: float) -> Workload:
    pods, gpus, portion, memory, cpu, ram = SHAPES[shape]
    priority, preemptible, _ = rng.choices(priorities, weights=[p[2] for p in priorities])[0]
    return Workload(
        name=name,
        project=project,
        priority=priority,
        preemptible=preemptible,
        pods=pods,
        gpus=gpus,
        gpu_portion=portion,
        gpu_memory_mib=memory,
        cpu_milli=cpu,
        memory_mib=ram,
        submitted_at=submitted,
    )


class _Packer:
    """Free capacity of the generated nodes, to give running pods places that really fit."""

    def __init__(self, nodes: int) -> None:
        self.free = [[1000] * GPUS_PER_NODE for _ in range(nodes)]
        self.cpu = [NODE_CPU_MILLI] * nodes
        self.memory = [NODE_MEMORY_MIB] * nodes

    def place(self, rng: random.Random, workload: Workload) -> tuple[tuple[int, tuple[int, ...]], ...] | None:
        if workload.gpus <= 0:
            need = 0
        elif workload.gpu_memory_mib is not None:
            need = -(-workload.gpu_memory_mib * 1000 // GPU_MEMORY_MIB)
        else:
            need = round((workload.gpu_portion or 1.0) * 1000)
        chosen: list[tuple[int, tuple[int, ...]]] = []
        start = rng.randrange(len(self.free))
        for step in range(PROBES):
            if len(chosen) == workload.pods:
                break
            node = (start + step) % len(self.free)
            if self.cpu[node] < workload.cpu_milli or self.memory[node] < workload.memory_mib:
                continue
            # Tightest devices first, as the scheduler itself would pack them.
            fitting = sorted((f, i) for i, f in enumerate(self.free[node]) if f >= need)
            if len(fitting) < workload.gpus:
                continue
            devices = tuple(sorted(i for _, i in fitting[: workload.gpus]))
            self._take(node, devices, need, workload, 1)
            chosen.append((node, devices))
        if len(chosen) < workload.pods:
            for node, devices in chosen:
                self._take(node, devices, need, workload, -1)
            return None
        return tuple(chosen)

    def _take(self, node: int, devices: tuple[int, ...], need: int, workload: Workload, sign: int) -> None:
        for i in devices:
            self.free[node][i] -= sign * need
        self.cpu[node] -= sign * workload.cpu_milli
        self.memory[node] -= sign * workload.memory_mib


def build(case: str | CaseSize, seed: int = 0) -> Snapshot:
    """The snapshot of ``case`` (a name from ``CASES`` or a size) for ``seed``: the same seed
    always gives the same snapshot."""
    size = CASES[case] if isinstance(case, str) else case
    rng = random.Random(seed)
    nodes = tuple(
        Node(
            f"node-{i:05d}",
            gpus=GPUS_PER_NODE,
            gpu_memory_mib=GPU_MEMORY_MIB,
            gpu_model="H100",
            cpu_milli=NODE_CPU_MILLI,
            memory_mib=NODE_MEMORY_MIB,
        )
        for i in range(size.nodes)
    )
    queues, projects = _queues(size.nodes * GPUS_PER_NODE * 1000)
    workloads: list[Workload] = []
    packer = _Packer(size.nodes)
    shapes, shape_weights = list(size.running_mix), list(size.running_mix.values())
    running_weights = _weights(projects, size.running_weight)
    attempts = 0
    # A pod that finds no room is dropped and another drawn, up to a bound, so a mix too big
    # for the nodes still ends.
    while len(workloads) < size.running and attempts < 4 * size.running:
        attempts += 1
        project = rng.choices(projects, weights=running_weights)[0]
        shape = rng.choices(shapes, weights=shape_weights)[0]
        started = NOW - rng.uniform(60.0, 86_400.0)
        workload = _workload(rng, f"run-{len(workloads):06d}", project, shape, RUNNING_PRIORITY, started - 30.0)
        where = packer.place(rng, workload)
        if where is None:
            continue
        running = tuple(RunningPod(nodes[node].name, devices, started) for node, devices in where)
        workloads.append(replace(workload, running=running))
    pending_weights = _weights(projects, size.pending_weight)
    shapes, shape_weights = list(MIXED), list(MIXED.values())
    for i in range(size.pending):
        project = rng.choices(projects, weights=pending_weights)[0]
        shape = rng.choices(shapes, weights=shape_weights)[0]
        submitted = NOW - rng.uniform(0.0, 3_600.0)
        workloads.append(_workload(rng, f"wait-{i:06d}", project, shape, size.pending_priority, submitted))
    return Snapshot(nodes=nodes, queues=queues, workloads=tuple(workloads), now=NOW)
