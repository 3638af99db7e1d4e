"""The reconcile step: desired state and actual state in, runtime actions and statuses out.

Level-triggered, as Kubernetes controllers are: every tick looks at the whole picture (what the
control plane wants, what the runtime has), stops what is no longer wanted, asks the scheduler
where the rest should go and starts it. It works the same whether or not the control plane is
connected, on what it last heard from it.
"""

from __future__ import annotations

import logging

from agent.protocol import (
    DesiredStateMessage,
    GpuDevice,
    Inventory,
    WorkloadPhase,
    WorkloadSpec,
    WorkloadStatus,
)
from agent.runtime.base import Runtime
from agent.scheduler import (
    ClusterSnapshot,
    Decisions,
    NodeSnapshot,
    PendingJob,
    RunningAllocation,
    schedule,
)

log = logging.getLogger(__name__)


class Reconciler:
    """Keeps the runtime converging on the control plane's desired state."""

    def __init__(self, runtime: Runtime, inventory: Inventory, stop_grace_seconds: float) -> None:
        self.runtime = runtime
        self.inventory = inventory
        self.stop_grace_seconds = stop_grace_seconds
        self.desired: dict[str, WorkloadSpec] = {}
        # Until a full desired state arrives, nothing the runtime has is unwanted: a restarted
        # agent must not stop everything because it has not heard from the control plane yet.
        self.desired_known = False
        self._devices: dict[str, GpuDevice] = {gpu.uuid: gpu for node in inventory.nodes for gpu in node.gpus}
        self._pending: dict[str, str] = {}
        self._start_failures: dict[str, str] = {}

    def set_inventory(self, inventory: Inventory) -> None:
        """Schedule on ``inventory`` from now on: devices found or lost, turned unhealthy or
        cordoned (see ``GpuDevice.schedulable``)."""
        self.inventory = inventory
        self._devices = {gpu.uuid: gpu for node in inventory.nodes for gpu in node.gpus}

    def apply(self, message: DesiredStateMessage) -> None:
        """Take in a desired state: a full one replaces what was known, a delta amends it."""
        if message.full:
            self.desired = {spec.id: spec for spec in message.workloads}
            self.desired_known = True
        else:
            self.desired.update({spec.id: spec for spec in message.workloads})
            for workload_id in message.removed:
                self.desired.pop(workload_id, None)

    def actual(self) -> dict[str, WorkloadStatus]:
        """The runtime's view: every workload it has a record of."""
        return self.runtime.poll()

    def tick(self) -> dict[str, WorkloadStatus]:
        """One reconcile pass. Returns the status of every workload the agent knows of: the
        runtime's, plus Pending (with the scheduler's reason) for desired ones not started."""
        actual = self.runtime.poll()
        acted = self._stop_unwanted(actual)
        acted = self._start_placed(actual) or acted
        if acted:
            actual = self.runtime.poll()
        statuses = dict(actual)
        for workload_id, reason in self._pending.items():
            statuses[workload_id] = WorkloadStatus(workload_id=workload_id, phase=WorkloadPhase.PENDING, message=reason)
        for workload_id, reason in self._start_failures.items():
            if workload_id in self.desired and workload_id not in actual:
                statuses[workload_id] = WorkloadStatus(
                    workload_id=workload_id, phase=WorkloadPhase.FAILED, message=reason
                )
        return statuses

    def forget(self, workload_id: str) -> None:
        """Drop the runtime's record of a finished workload the control plane is done with."""
        self.runtime.forget(workload_id)

    def _stop_unwanted(self, actual: dict[str, WorkloadStatus]) -> bool:
        if not self.desired_known:
            return False
        unwanted = [
            workload_id
            for workload_id, status in actual.items()
            if status.phase == WorkloadPhase.RUNNING and workload_id not in self.desired
        ]
        for workload_id in unwanted:
            log.info("workload %s is no longer desired: stopping it", workload_id)
            self.runtime.stop(workload_id, self.stop_grace_seconds)
        return bool(unwanted)

    def _start_placed(self, actual: dict[str, WorkloadStatus]) -> bool:
        self._start_failures = {
            workload_id: reason for workload_id, reason in self._start_failures.items() if workload_id in self.desired
        }
        waiting = [
            spec
            for workload_id, spec in self.desired.items()
            if workload_id not in actual and workload_id not in self._start_failures
        ]
        decisions = schedule(self._snapshot(actual, waiting)) if waiting else Decisions()
        self._pending = dict(decisions.pending_reasons)
        for workload_id, placement in decisions.placements.items():
            spec = self.desired[workload_id]
            devices = [self._devices[uuid] for uuid in placement.devices]
            try:
                self.runtime.start(spec, placement.node, devices)
            except Exception as exc:
                log.exception("could not start workload %s", workload_id)
                self._start_failures[workload_id] = f"could not start: {exc}"
        return bool(decisions.placements)

    def _snapshot(self, actual: dict[str, WorkloadStatus], waiting: list[WorkloadSpec]) -> ClusterSnapshot:
        # A workload holds its devices until it has ended, stopping included.
        running = tuple(
            RunningAllocation(job_id=s.workload_id, node=s.node, devices=tuple(s.gpus))
            for s in actual.values()
            if not s.phase.is_terminal and s.node is not None
        )
        nodes = tuple(
            NodeSnapshot(name=node.name, devices=tuple(gpu.uuid for gpu in node.gpus)) for node in self.inventory.nodes
        )
        pending = tuple(
            PendingJob(
                id=spec.id,
                gpu_devices=spec.gpu_devices,
                priority=spec.priority,
                submitted_at=spec.submitted_at.timestamp(),
            )
            for spec in waiting
        )
        return ClusterSnapshot(nodes=nodes, pending=pending, running=running)
