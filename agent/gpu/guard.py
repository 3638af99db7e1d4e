"""The agent's GPU duties on every reconcile tick: keep the inventory current (devices, health,
cordons), requeue what runs where it must not (an unhealthy or drained device, a drained node),
and run the memory watchdog."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from agent.gpu.inventory import with_flags
from agent.gpu.watchdog import MemoryWatchdog
from agent.protocol import CordonSpec, Inventory, WorkloadPhase, WorkloadSpec, WorkloadStatus
from agent.runtime.base import Runtime

log = logging.getLogger(__name__)


class GpuGuard:
    """Holds the current inventory and acts on what it says.

    ``discover`` re-reads the devices (real GPUs only; simulated ones never change), ``health``
    returns the unhealthy devices with their reasons, ``watchdog`` holds workloads to their memory
    share. Each is optional: without a GPU there is nothing to watch.
    """

    def __init__(
        self,
        inventory: Inventory,
        runtime: Runtime,
        stop_grace_seconds: float,
        discover: Callable[[], Inventory] | None = None,
        health: Callable[[], Mapping[str, str]] | None = None,
        watchdog: MemoryWatchdog | None = None,
        mps: bool = False,
        refresh_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.stop_grace_seconds = stop_grace_seconds
        self.discover = discover
        self.health = health
        self.watchdog = watchdog
        self.mps = mps
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.cordons: list[CordonSpec] = []
        self.unhealthy: dict[str, str] = {}
        self._discovered = inventory
        self._next_refresh = clock() + refresh_seconds
        self.inventory = with_flags(inventory, {}, [], mps)

    def set_cordons(self, cordons: Sequence[CordonSpec]) -> Inventory | None:
        """The control plane's cordons (the whole set), applied at once so that nothing more is
        placed there; returns the new inventory when it changed."""
        self.cordons = list(cordons)
        return self._flagged()

    def tick(self, statuses: Mapping[str, WorkloadStatus], specs: Mapping[str, WorkloadSpec]) -> Inventory | None:
        """One round; returns the new inventory when it changed (to report and schedule on)."""
        changed = None
        if self.clock() >= self._next_refresh:
            self._next_refresh = self.clock() + self.refresh_seconds
            changed = self._refresh()
        self._stop_misplaced(statuses)
        if self.watchdog is not None:
            devices = {gpu.uuid: gpu for node in self.inventory.nodes for gpu in node.gpus}
            try:
                self.watchdog.check(statuses, specs, devices)
            except Exception:
                log.exception("the GPU memory watchdog failed; trying again on the next tick")
        return changed

    def _refresh(self) -> Inventory | None:
        if self.discover is not None:
            try:
                self._discovered = self.discover()
            except Exception:
                log.exception("re-reading the GPUs failed; keeping the last inventory")
        if self.health is not None:
            try:
                self.unhealthy = dict(self.health())
            except Exception:
                log.exception("checking GPU health failed")
        return self._flagged()

    def _flagged(self) -> Inventory | None:
        inventory = with_flags(self._discovered, self.unhealthy, self.cordons, self.mps)
        if inventory == self.inventory:
            return None
        self.inventory = inventory
        return inventory

    def _stop_misplaced(self, statuses: Mapping[str, WorkloadStatus]) -> None:
        reasons = self._device_reasons()
        drained_nodes = {c.name for c in self.cordons if c.target == "node" and c.drain}
        for workload_id, status in statuses.items():
            if status.phase != WorkloadPhase.RUNNING:
                continue
            reason = next((reasons[g] for g in status.gpus if g in reasons), None)
            if reason is None and status.node in drained_nodes:
                reason = f"drained: node {status.node} was drained by an administrator"
            if reason is not None:
                # Requeued, as a preemption is: it runs again where the scheduler may place it.
                log.warning("requeuing workload %s: %s", workload_id, reason)
                self.runtime.evict(workload_id, self.stop_grace_seconds, reason)

    def _device_reasons(self) -> dict[str, str]:
        reasons = {uuid: f"GPU {uuid} is unhealthy: {why}" for uuid, why in self.unhealthy.items()}
        drained_nodes = {c.name for c in self.cordons if c.target == "node" and c.drain}
        for node in self.inventory.nodes:
            for gpu in node.gpus:
                if node.name in drained_nodes:
                    reasons.setdefault(gpu.uuid, f"drained: node {node.name} was drained by an administrator")
        for cordon in self.cordons:
            if cordon.target == "device" and cordon.drain:
                reasons.setdefault(cordon.name, f"drained: GPU {cordon.name} was drained by an administrator")
        return reasons
