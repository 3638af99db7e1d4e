"""The agent's mapping onto the full scheduler: its inventory, queues and workloads in, decisions
by workload id and device uuid out.

Departments and projects come from the control plane's queues; every workload waits in its
project's queue with its priority, preemptibility and GPU request (whole devices, a portion or an
amount of memory of each, one pod per worker of a gang); work already running is given with the
devices each worker holds, so reclaim, preempt and consolidate may act on it. Devices are uuids
here and indexes (their order in the node's inventory) inside the scheduler.

Node pools come from the control plane too: each node is in the pool that names it (else in
``default``); each pool is scheduled by a cycle of its own, with its placement strategy; and a
workload is tried in its pools in its order of preference, as Run:ai does: a workload left
waiting in one moves to its next, and that pool's cycle runs again, until none has another to
try.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from agent.protocol import GpuDevice, Inventory, NodePoolSpec, QueuePoolStatus, QueueSpec, WorkloadSpec
from agent.protocol import PoolQuota as PoolQuotaSpec
from agent.scheduler.api import (
    DEFAULT_GPU_MEMORY_MIB,
    DEFAULT_POOL,
    Node,
    Outcome,
    PoolQuota,
    Queue,
    RunningPod,
    Snapshot,
    Workload,
)
from agent.scheduler.cycle import run_cycle
from agent.scheduler.placement import MILLI


@dataclass(frozen=True)
class Pod:
    """One worker of a workload: its node and the uuids of the devices it uses."""

    node: str
    devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Held:
    """A workload that holds devices: running (since ``started_at``), or placed and waiting for
    devices still held by work being stopped."""

    spec: WorkloadSpec
    pods: tuple[Pod, ...]
    started_at: float = 0.0


@dataclass(frozen=True)
class AgentDecisions:
    """One cycle's decisions by workload id: where to start (one pod per worker), what to evict
    (with the scheduler's reason) and why the rest waits; and each queue's figures per pool."""

    placements: Mapping[str, tuple[Pod, ...]] = field(default_factory=dict)
    evictions: Mapping[str, str] = field(default_factory=dict)
    pending: Mapping[str, str] = field(default_factory=dict)
    queues: tuple[QueuePoolStatus, ...] = ()


def share_of(spec: WorkloadSpec | None, device: GpuDevice | None) -> int:
    """Milli-GPUs one worker of ``spec`` holds on ``device`` (a whole one when either is unknown)."""
    if spec is None or device is None:
        return MILLI
    if spec.gpu_portion is not None:
        return max(1, round(spec.gpu_portion * MILLI))
    if spec.gpu_memory_mib is not None and device.memory_mib:
        return min(MILLI, -(-spec.gpu_memory_mib * MILLI // device.memory_mib))
    return MILLI


def decide(
    inventory: Inventory,
    queues: Sequence[QueueSpec],
    pending: Sequence[WorkloadSpec],
    held: Sequence[Held],
    now: float,
    node_pools: Sequence[NodePoolSpec] = (),
) -> AgentDecisions:
    """Run a full scheduling cycle (every action, the default plugins) over the agent's view; again
    with a workload left waiting in one of its node pools moved to its next one, while any is."""
    uuids = {node.name: tuple(gpu.uuid for gpu in node.gpus) for node in inventory.nodes}
    index = {(name, uuid): i for name, devices in uuids.items() for i, uuid in enumerate(devices)}
    pool_of = {name: pool.name for pool in node_pools for name in pool.nodes}
    labels = _labels([*pending, *(h.spec for h in held)])
    running = []
    for work in _schedulable(inventory, held):
        pods = tuple(
            RunningPod(pod.node, tuple(index[pod.node, uuid] for uuid in pod.devices), work.started_at)
            for pod in work.pods
        )
        pool = pool_of.get(work.pods[0].node, DEFAULT_POOL) if work.pods else DEFAULT_POOL
        running.append(_workload(work.spec, labels[work.spec.id], pool, pods))
    nodes = tuple(
        Node(
            name=node.name,
            gpus=len(node.gpus),
            gpu_memory_mib=min((gpu.memory_mib for gpu in node.gpus if gpu.memory_mib), default=DEFAULT_GPU_MEMORY_MIB),
            gpu_model=node.gpus[0].model if node.gpus else "",
            unhealthy=frozenset(i for i, gpu in enumerate(node.gpus) if node.cordoned or not gpu.schedulable),
            pool=pool_of.get(node.name, DEFAULT_POOL),
            cpu_milli=node.cpu_milli,
            memory_mib=node.memory_mib,
        )
        for node in inventory.nodes
    )
    choices = {spec.id: spec.node_pools or [DEFAULT_POOL] for spec in pending}
    tried = {spec.id: 0 for spec in pending}
    reasons: dict[str, list[str]] = {spec.id: [] for spec in pending}
    ids = {label: workload_id for workload_id, label in labels.items()}
    placement = {pool.name: (pool.gpu_placement, pool.cpu_placement) for pool in node_pools}
    scheduler_queues = _queues(queues)
    # One cycle per pool, as Run:ai schedules each node pool on its own, each by its own placement
    # strategy; a pool's cycle runs again only when the work waiting for it changed.
    outcomes: dict[str, tuple[frozenset[str], Outcome]] = {}
    while True:
        waiting: dict[str, list[Workload]] = {pool: [] for pool in {node.pool for node in nodes}}
        for spec in pending:
            pool = choices[spec.id][tried[spec.id]]
            waiting.setdefault(pool, []).append(_workload(spec, labels[spec.id], pool))
        for pool, work in waiting.items():
            members = frozenset(workload.name for workload in work)
            if pool not in outcomes or outcomes[pool][0] != members:
                if not any(node.pool == pool for node in nodes):  # a pool this agent has no node in
                    outcomes[pool] = (members, Outcome(pending=dict.fromkeys(members, f"no nodes in node pool {pool}")))
                    continue
                gpu_placement, cpu_placement = placement.get(pool, ("binpack", "binpack"))
                snapshot = Snapshot(
                    nodes=tuple(node for node in nodes if node.pool == pool),
                    queues=scheduler_queues,
                    workloads=(*work, *(workload for workload in running if workload.pool == pool)),
                    now=now,
                    placement=gpu_placement,
                    cpu_placement=cpu_placement,
                )
                outcomes[pool] = (members, _of_pool(run_cycle(snapshot), pool))
        outcome = _merged([outcomes[pool][1] for pool in waiting])
        left = {ids[name]: reason for name, reason in outcome.pending.items()}
        moving = [name for name in left if name in tried and tried[name] + 1 < len(choices[name])]
        for workload_id in moving:
            reasons[workload_id].append(f"node pool {choices[workload_id][tried[workload_id]]}: {left[workload_id]}")
            tried[workload_id] += 1
        if not moving:
            break
    for workload_id, reason in left.items():
        if workload_id in reasons and reasons[workload_id]:  # tried in more than one pool: why not in each
            reasons[workload_id].append(f"node pool {choices[workload_id][tried[workload_id]]}: {reason}")
            left[workload_id] = "; ".join(reasons[workload_id])
    return AgentDecisions(
        placements={
            ids[name]: tuple(Pod(p.node, tuple(uuids[p.node][i] for i in p.gpus)) for p in pods)
            for name, pods in outcome.placements.items()
        },
        evictions={ids[name]: reason for name, reason in outcome.evictions.items()},
        pending=left,
        queues=_queue_status(queues, outcome),
    )


def _of_pool(outcome: Outcome, pool: str) -> Outcome:
    """A pool's cycle, with only its own pool's figures (a queue has quotas in other pools too)."""
    return replace(
        outcome,
        fair_share={key: value for key, value in outcome.fair_share.items() if key[1] == pool},
        allocated={key: value for key, value in outcome.allocated.items() if key[1] == pool},
    )


def _merged(outcomes: Sequence[Outcome]) -> Outcome:
    """The pools' cycles as one: they share no workload, node or (queue, pool) figure."""
    return Outcome(
        placements={name: pods for o in outcomes for name, pods in o.placements.items()},
        evictions={name: reason for o in outcomes for name, reason in o.evictions.items()},
        pending={name: reason for o in outcomes for name, reason in o.pending.items()},
        fair_share={key: value for o in outcomes for key, value in o.fair_share.items()},
        allocated={key: value for o in outcomes for key, value in o.allocated.items()},
    )


def _schedulable(inventory: Inventory, held: Sequence[Held]) -> list[Held]:
    """The held work the scheduler may reason about: on schedulable devices it knows, within
    their capacity and within its node's CPU and memory. The rest (on a cordoned or unhealthy
    device, or more than a device or node holds, as a restart may find) is left where it runs
    and out of the cycle, which would refuse it."""
    devices = {
        (node.name, gpu.uuid): gpu
        for node in inventory.nodes
        if not node.cordoned
        for gpu in node.gpus
        if gpu.schedulable
    }
    capacity = {
        (node.name, resource): amount
        for node in inventory.nodes
        for resource, amount in (("cpu", node.cpu_milli), ("memory", node.memory_mib))
        if amount is not None
    }
    used: Counter[tuple[str, str]] = Counter()
    taken: Counter[tuple[str, str]] = Counter()
    kept = []
    for work in held:
        need: Counter[tuple[str, str]] = Counter()
        takes: Counter[tuple[str, str]] = Counter()
        for pod in work.pods:
            for uuid in pod.devices:
                need[pod.node, uuid] += share_of(work.spec, devices.get((pod.node, uuid)))
            takes[pod.node, "cpu"] += work.spec.cpu_milli or 0
            takes[pod.node, "memory"] += work.spec.memory_mib or 0
        if all(key in devices and used[key] + amount <= MILLI for key, amount in need.items()) and all(
            key not in capacity or taken[key] + amount <= capacity[key] for key, amount in takes.items()
        ):
            used.update(need)
            taken.update(takes)
            kept.append(work)
    return kept


def _labels(specs: Sequence[WorkloadSpec]) -> dict[str, str]:
    # The scheduler names workloads in its reasons ("preempted by train-big"): use the name people
    # gave, made unique with the id where two workloads share it.
    counts = Counter(spec.name for spec in specs)
    return {spec.id: spec.name if counts[spec.name] == 1 else f"{spec.name} ({spec.id})" for spec in specs}


def _workload(spec: WorkloadSpec, name: str, pool: str, running: tuple[RunningPod, ...] = ()) -> Workload:
    fractional = spec.gpu_portion is not None or spec.gpu_memory_mib is not None
    return Workload(
        name=name,
        project=spec.project,
        pool=pool,
        priority=spec.priority,
        preemptible=spec.preemptible,
        pods=spec.workers,
        gpus=max(spec.gpu_devices, 1) if fractional else spec.gpu_devices,
        gpu_portion=spec.gpu_portion,
        gpu_memory_mib=spec.gpu_memory_mib if spec.gpu_portion is None else None,
        gpu_portion_limit=spec.gpu_portion_limit,
        cpu_milli=spec.cpu_milli or 0,
        memory_mib=spec.memory_mib or 0,
        submitted_at=spec.submitted_at.timestamp(),
        running=running,
    )


def _queue_names(specs: Sequence[QueueSpec]) -> dict[tuple[str, str], str]:
    """Each queue's name in the scheduler, by kind and id: as people know them (projects by the
    name workloads give; a department sharing a project's name is told apart)."""
    projects = {spec.name for spec in specs if spec.kind == "project"}
    return {
        (spec.kind, spec.id): spec.name
        if spec.kind == "project" or spec.name not in projects
        else f"{spec.name} (department)"
        for spec in specs
    }


def _queues(specs: Sequence[QueueSpec]) -> tuple[Queue, ...]:
    """Departments, then projects, with their quotas per pool."""
    names = _queue_names(specs)
    ordered = sorted(specs, key=lambda spec: spec.kind != "department")
    return tuple(
        Queue(
            name=names[spec.kind, spec.id],
            parent=names.get(("department", spec.parent or "")) if spec.kind == "project" else None,
            quotas={pool.node_pool: _quota(pool) for pool in spec.pools},
        )
        for spec in ordered
    )


def _queue_status(specs: Sequence[QueueSpec], outcome: Outcome) -> tuple[QueuePoolStatus, ...]:
    """The cycle's fair share and allocation of every queue the control plane named, per pool,
    in GPUs; over quota where it holds more than its deserved quota there."""
    names = _queue_names(specs)
    by_name = {names[spec.kind, spec.id]: spec for spec in specs}
    figures = []
    for (name, pool), share in sorted(outcome.fair_share.items()):
        spec = by_name.get(name)
        if spec is None:  # a project only workloads name: the control plane has no such queue
            continue
        deserved = next((quota.gpu.deserved for quota in spec.pools if quota.node_pool == pool), 0.0)
        allocated = outcome.allocated.get((name, pool), 0)
        figures.append(
            QueuePoolStatus(
                queue_id=spec.id,
                kind=spec.kind,
                node_pool=pool,
                fair_share_gpus=round(share / MILLI, 3),
                allocated_gpus=round(allocated / MILLI, 3),
                over_quota=allocated > round(deserved * MILLI),
            )
        )
    return tuple(figures)


def _quota(pool: PoolQuotaSpec) -> PoolQuota:
    def milli(value: float) -> int:
        return -1 if value < 0 else round(value * MILLI)

    cpu, memory = pool.cpu, pool.memory
    return PoolQuota(
        deserved_milli=milli(pool.gpu.deserved),
        over_quota_weight=pool.gpu.over_quota_weight,
        limit_milli=milli(pool.gpu.limit),
        cpu_deserved_milli=None if cpu is None else round(cpu.deserved),
        cpu_limit_milli=-1 if cpu is None else round(cpu.limit),
        memory_deserved_mib=None if memory is None else round(memory.deserved),
        memory_limit_mib=-1 if memory is None else round(memory.limit),
    )
