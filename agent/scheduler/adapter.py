"""The agent's whole-GPU dialect over the full scheduler.

The reconciler names devices by uuid and has no queues yet: every job goes to one project that
deserves the whole cluster, work already running is never moved, and device uuids are mapped to
indexes and back. Placement, ordering and reasons are the full scheduler's.
"""

from __future__ import annotations

from agent.scheduler.api import (
    ClusterSnapshot,
    Decisions,
    Node,
    Placement,
    PoolQuota,
    Queue,
    RunningPod,
    Snapshot,
    Workload,
)
from agent.scheduler.cycle import run_cycle
from agent.scheduler.placement import MILLI
from agent.scheduler.plugins import DEFAULT_PLUGINS, fair_share_note

AGENT_PLUGINS = tuple(plugin for plugin in DEFAULT_PLUGINS if plugin is not fair_share_note.register)
"""The agent's one synthetic project has no fair share worth explaining to anyone."""

PROJECT = "agent"
HELD_PROJECT = "agent-running"
"""Work already running lives apart, so it never counts against what new jobs may use."""
HELD = 1_000_000
"""Priority of work already running: above every job, so never preempted."""


def to_snapshot(snapshot: ClusterSnapshot) -> Snapshot:
    """The full scheduler's snapshot for the agent's whole-GPU one."""
    index = {(node.name, uuid): i for node in snapshot.nodes for i, uuid in enumerate(node.devices)}
    nodes = tuple(Node(name=node.name, gpus=len(node.devices)) for node in snapshot.nodes)
    names = {node.name for node in snapshot.nodes}
    capacity = MILLI * sum(len(node.devices) for node in snapshot.nodes)
    held: list[Workload] = []
    claimed: set[tuple[str, str]] = set()

    def claim(node: str, uuids: tuple[str, ...]) -> tuple[int, ...]:
        # The runtime may report a device twice (a workload still stopping); hold it once, and
        # ignore devices the inventory does not know.
        fresh = [uuid for uuid in uuids if (node, uuid) in index and (node, uuid) not in claimed]
        claimed.update((node, uuid) for uuid in fresh)
        return tuple(index[node, uuid] for uuid in fresh)

    seen: set[str] = set()
    for allocation in snapshot.running:
        if allocation.node in names and allocation.job_id not in seen:
            seen.add(allocation.job_id)
            devices = claim(allocation.node, allocation.devices)
            pod = RunningPod(node=allocation.node, gpus=devices)
            held.append(_held(allocation.job_id, pod, gpus=len(devices)))
    for node in snapshot.nodes:
        for uuid in sorted(node.used, key=lambda u: index.get((node.name, u), -1)):
            devices = claim(node.name, (uuid,))
            if devices:
                held.append(_held(f"{node.name}/{uuid}", RunningPod(node=node.name, gpus=devices)))
    pending = tuple(
        Workload(
            name=job.id,
            project=PROJECT,
            priority=job.priority,
            gpus=job.gpu_devices,
            submitted_at=job.submitted_at,
        )
        for job in snapshot.pending
    )
    queue = Queue(name=PROJECT, quotas={"default": PoolQuota(deserved_milli=capacity)})
    return Snapshot(nodes=nodes, queues=(queue,), workloads=tuple(held) + pending, consolidation=False)


def _held(name: str, pod: RunningPod, gpus: int = 1) -> Workload:
    return Workload(name=name, project=HELD_PROJECT, priority=HELD, preemptible=False, gpus=gpus, running=(pod,))


def schedule(snapshot: ClusterSnapshot) -> Decisions:
    """Run one scheduling cycle over the agent's ``snapshot``. Deterministic: the same snapshot
    always gives the same decisions."""
    outcome = run_cycle(to_snapshot(snapshot), plugins=AGENT_PLUGINS)
    devices = {node.name: node.devices for node in snapshot.nodes}
    pending_ids = {job.id for job in snapshot.pending}
    placements = {
        name: Placement(node=pods[0].node, devices=tuple(devices[pods[0].node][i] for i in pods[0].gpus))
        for name, pods in outcome.placements.items()
        if name in pending_ids
    }
    reasons = {name: reason for name, reason in outcome.pending.items() if name in pending_ids}
    return Decisions(placements=placements, pending_reasons=reasons)
