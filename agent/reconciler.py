"""The reconcile step: desired state and actual state in, runtime actions and statuses out.

Level-triggered, as Kubernetes controllers are: every tick looks at the whole picture (what the
control plane wants, what the runtime has), stops what is no longer wanted, runs a full
scheduling cycle over the rest (queues, fair share, priorities, fractions, gangs), evicts what the
scheduler evicts and starts what it places. It works the same whether or not the control plane
is connected, on what it last heard from it.

An evicted workload is requeued, never ended: it stays desired, is reported Pending with a
message beginning "Preempted", and starts again under the same id once placed. A placement whose
devices are still held by work being stopped is kept (the workload holds it in later cycles, so
nothing else is evicted for it) and started once they are free.
"""

from __future__ import annotations

import logging
import time

from agent.gpu.enforcement import ComputeMode
from agent.protocol import (
    DesiredStateMessage,
    GpuDevice,
    Inventory,
    NodePoolSpec,
    QueuePoolStatus,
    QueueSpec,
    WorkloadPhase,
    WorkloadSpec,
    WorkloadStatus,
)
from agent.runtime.base import PREEMPTED, Runtime, WorkerPlacement
from agent.scheduler.adapter import Held, Pod, decide, share_of
from agent.scheduler.api import DEFAULT_POOL
from agent.scheduler.placement import MILLI

log = logging.getLogger(__name__)


def is_requeued(status: WorkloadStatus | None) -> bool:
    """Whether the runtime's status is an eviction (stopping or ended): the workload waits again."""
    return (
        status is not None
        and status.phase in (WorkloadPhase.STOPPING, WorkloadPhase.PENDING)
        and status.message.startswith(PREEMPTED)
    )


class Reconciler:
    """Keeps the runtime converging on the control plane's desired state."""

    def __init__(self, runtime: Runtime, inventory: Inventory, stop_grace_seconds: float) -> None:
        self.runtime = runtime
        self.inventory = inventory
        self.stop_grace_seconds = stop_grace_seconds
        self.desired: dict[str, WorkloadSpec] = {}
        self.queues: list[QueueSpec] = []
        self.node_pools: list[NodePoolSpec] = []
        # Until a full desired state arrives, nothing the runtime has is unwanted: a restarted
        # agent must not stop everything because it has not heard from the control plane yet.
        self.desired_known = False
        self._devices: dict[str, GpuDevice] = {gpu.uuid: gpu for node in inventory.nodes for gpu in node.gpus}
        self._pending: dict[str, str] = {}
        self._start_failures: dict[str, str] = {}
        # Placed by the scheduler, not started yet: their devices are still held by work stopping.
        self._bound: dict[str, tuple[Pod, ...]] = {}
        # Each queue's fair share and allocation per pool, from the last cycle that worked them
        # out, and what that cycle looked at when nothing waited (see ``_refresh_queue_status``).
        self.queue_status: tuple[QueuePoolStatus, ...] = ()
        self._queue_status_of: object = None

    def apply(self, message: DesiredStateMessage) -> None:
        """Take in a desired state: a full one replaces what was known, a delta amends it. Queues,
        when given, replace the ones known; otherwise the last ones received stay."""
        if message.full:
            self.desired = {spec.id: spec for spec in message.workloads}
            self.desired_known = True
        else:
            self.desired.update({spec.id: spec for spec in message.workloads})
            for workload_id in message.removed:
                self.desired.pop(workload_id, None)
        if message.queues:
            self.queues = list(message.queues)
        if message.node_pools is not None:
            self.node_pools = list(message.node_pools)
        self._bound = {workload_id: pods for workload_id, pods in self._bound.items() if workload_id in self.desired}

    def set_inventory(self, inventory: Inventory) -> None:
        """Take in a changed inventory (a device unhealthy or cordoned): nothing new goes there."""
        self.inventory = inventory
        self._devices = {gpu.uuid: gpu for node in inventory.nodes for gpu in node.gpus}
        usable = {gpu.uuid for node in inventory.nodes if not node.cordoned for gpu in node.gpus if gpu.schedulable}
        self._bound = {
            workload_id: pods
            for workload_id, pods in self._bound.items()
            if all(uuid in usable for pod in pods for uuid in pod.devices)
        }

    def actual(self) -> dict[str, WorkloadStatus]:
        """The runtime's view: every workload it has a record of."""
        return self.runtime.poll()

    def tick(self) -> dict[str, WorkloadStatus]:
        """One reconcile pass. Returns the status of every workload the agent knows of: the
        runtime's (an eviction shown as Pending), plus Pending with the scheduler's reason for
        desired ones not running."""
        actual = self.runtime.poll()
        if self._stop_unwanted(actual):
            actual = self.runtime.poll()
        self._schedule(actual)
        if self._start_bound(actual):
            actual = self.runtime.poll()
        return self._statuses(actual)

    def forget(self, workload_id: str) -> None:
        """Drop the runtime's record of a finished workload the control plane is done with."""
        self.runtime.forget(workload_id)

    def _stop_unwanted(self, actual: dict[str, WorkloadStatus]) -> bool:
        if not self.desired_known:
            return False
        unwanted = [
            workload_id
            for workload_id, status in actual.items()
            if workload_id not in self.desired and (status.phase == WorkloadPhase.RUNNING or is_requeued(status))
        ]
        for workload_id in unwanted:
            log.info("workload %s is no longer desired: stopping it", workload_id)
            self.runtime.stop(workload_id, self.stop_grace_seconds)
        return bool(unwanted)

    def _schedule(self, actual: dict[str, WorkloadStatus]) -> None:
        """Run a scheduling cycle if anything waits (every action acts for waiting work, so a cycle
        with none decides nothing); act on its evictions and keep its placements."""
        self._start_failures = {
            workload_id: reason for workload_id, reason in self._start_failures.items() if workload_id in self.desired
        }
        now = time.time()
        waiting: list[WorkloadSpec] = []
        held: list[Held] = []
        for workload_id, spec in self.desired.items():
            status = actual.get(workload_id)
            if workload_id in self._start_failures:
                continue
            if workload_id in self._bound:
                held.append(Held(spec, self._bound[workload_id], now))
            elif status is None or is_requeued(status):
                waiting.append(spec)
            elif status.phase == WorkloadPhase.RUNNING:
                started = status.started_at.timestamp() if status.started_at else now
                held.append(Held(spec, self._pods(workload_id, status), started))
        if not waiting:
            self._pending = {}
            self._refresh_queue_status(held, now)
            return
        try:
            decisions = decide(self.inventory, self.queues, waiting, held, now, self.node_pools)
        except Exception as exc:  # A bad cycle must not stop the agent reporting: say why all wait.
            log.exception("the scheduling cycle failed")
            self._pending = {spec.id: f"the agent's scheduler failed: {exc}" for spec in waiting}
            return
        for workload_id, reason in decisions.evictions.items():
            if self._bound.pop(workload_id, None) is None:
                log.info("evicting workload %s: %s", workload_id, reason)
                self.runtime.evict(workload_id, self.stop_grace_seconds, reason)
        self._bound.update(decisions.placements)
        self._pending = dict(decisions.pending)
        self.queue_status = decisions.queues
        self._queue_status_of = None

    def _refresh_queue_status(self, held: list[Held], now: float) -> None:
        """With nothing waiting no cycle runs, yet the figures change when work ends or quotas do:
        run one (it decides nothing without waiting work) only when what it would look at changed."""
        looked_at = (self.queues, self.node_pools, self.inventory, sorted((h.spec.id, h.pods) for h in held))
        if looked_at == self._queue_status_of:
            return
        self._queue_status_of = looked_at
        try:
            self.queue_status = decide(self.inventory, self.queues, [], held, now, self.node_pools).queues
        except Exception:
            log.exception("the scheduling cycle failed while working out the queues' fair shares")

    def _pods(self, workload_id: str, status: WorkloadStatus) -> tuple[Pod, ...]:
        workers = self.runtime.placement(workload_id)
        if not workers:  # A record from before workers were recorded: one worker.
            return (Pod(status.node or "", tuple(status.gpus)),)
        return tuple(Pod(w.node, tuple(d.uuid for d in w.devices)) for w in workers)

    def _start_bound(self, actual: dict[str, WorkloadStatus]) -> bool:
        """Start the placed workloads whose devices are free now; the rest wait for them."""
        used: dict[str, int] = {}
        for workload_id, status in actual.items():
            if status.phase in (WorkloadPhase.RUNNING, WorkloadPhase.STOPPING):
                held = self._shares(self.desired.get(workload_id), self._pods(workload_id, status))
                for uuid, amount in held.items():
                    used[uuid] = used.get(uuid, 0) + amount
        started = False
        for workload_id, pods in list(self._bound.items()):
            status = actual.get(workload_id)
            if status is not None and status.phase in (WorkloadPhase.RUNNING, WorkloadPhase.STOPPING):
                continue  # Its own last run has not ended yet.
            spec = self.desired[workload_id]
            need = self._shares(spec, pods)
            if any(used.get(uuid, 0) + amount > MILLI for uuid, amount in need.items()):
                continue
            del self._bound[workload_id]
            for uuid, amount in need.items():
                used[uuid] = used.get(uuid, 0) + amount
            workers = [WorkerPlacement(pod.node, tuple(self._devices[uuid] for uuid in pod.devices)) for pod in pods]
            try:
                self.runtime.start(
                    spec,
                    workers[0].node,
                    workers[0].devices,
                    workers=workers,
                    compute_mode=self._compute_mode(workers[0].node),
                )
            except Exception as exc:
                log.exception("could not start workload %s", workload_id)
                self._start_failures[workload_id] = f"could not start: {exc}"
            started = True
        return started

    def _compute_mode(self, node: str) -> ComputeMode | None:
        """The compute mode of the node pool ``node`` is in (one no pool names is in the default
        pool, as the scheduler places it); None where that pool does not say."""
        pool_name = next((pool.name for pool in self.node_pools if node in pool.nodes), DEFAULT_POOL)
        return next((pool.gpu_compute_mode for pool in self.node_pools if pool.name == pool_name), None)

    def _shares(self, spec: WorkloadSpec | None, pods: tuple[Pod, ...]) -> dict[str, int]:
        """Milli-GPUs ``pods`` of ``spec`` hold on each device, by uuid."""
        shares: dict[str, int] = {}
        for pod in pods:
            for uuid in pod.devices:
                shares[uuid] = shares.get(uuid, 0) + share_of(spec, self._devices.get(uuid))
        return shares

    def _statuses(self, actual: dict[str, WorkloadStatus]) -> dict[str, WorkloadStatus]:
        statuses: dict[str, WorkloadStatus] = {}
        for workload_id, status in actual.items():
            if is_requeued(status):
                status = WorkloadStatus(workload_id=workload_id, phase=WorkloadPhase.PENDING, message=status.message)
            statuses[workload_id] = status
        for workload_id in self.desired:
            status = actual.get(workload_id)
            if status is not None and not is_requeued(status):
                continue
            if workload_id in self._start_failures:
                statuses[workload_id] = WorkloadStatus(
                    workload_id=workload_id, phase=WorkloadPhase.FAILED, message=self._start_failures[workload_id]
                )
                continue
            reason = self._pending.get(workload_id, "")
            if workload_id in self._bound:
                nodes = ", ".join(dict.fromkeys(pod.node for pod in self._bound[workload_id]))
                reason = f"scheduled on {nodes}: waiting for work being stopped to free its devices"
            if status is not None:  # Requeued: say why it was preempted, and why it waits now.
                reason = status.message if not reason or reason in status.message else f"{status.message}; {reason}"
            statuses[workload_id] = WorkloadStatus(workload_id=workload_id, phase=WorkloadPhase.PENDING, message=reason)
        return statuses
