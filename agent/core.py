"""The agent: a reconcile loop that never stops, and a connection loop that keeps coming back.

The two run side by side. The reconcile loop ticks about every half second (at once after a new
desired state) whether or not the control plane is connected, so the cluster keeps working while
it is away; when a session is up, each tick's results are published on it. The connection loop
reconnects with bounded, jittered backoff, reset once a connection has been welcomed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import agent
from agent.connection.backoff import Backoff
from agent.connection.outbox import Outbox
from agent.connection.transport import Transport, TransportError, TransportRefused
from agent.gpu.guard import GpuGuard
from agent.metrics import Send, seconds_from_env, shipper_for
from agent.protocol import CordonSpec, Inventory, InventoryMessage, WorkloadStatus
from agent.queue_report import QueueStatusReport
from agent.reconciler import Reconciler
from agent.runtime.base import Runtime
from agent.session import Session, reportable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentConfig:
    """Timings and limits of the agent; the defaults are the production ones."""

    poll_interval: float = 0.5
    stop_grace_seconds: float = 10.0
    welcome_timeout: float = 30.0
    backoff_initial: float = 0.5
    backoff_cap: float = 30.0
    # GPU metrics: sampled this often, sent in batches this often (see agent.metrics).
    metrics_interval: float = field(default_factory=lambda: seconds_from_env("TESSERA_METRICS_INTERVAL", 5.0))
    metrics_batch_seconds: float = field(
        default_factory=lambda: seconds_from_env("TESSERA_METRICS_BATCH_SECONDS", 15.0)
    )


class Agent:
    """Runs workloads the control plane wants, on this cluster, and reports on them."""

    def __init__(
        self,
        runtime: Runtime,
        inventory: Inventory,
        transport_factory: Callable[[], Transport],
        config: AgentConfig = AgentConfig(),
        guard: GpuGuard | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        # The guard keeps the inventory current (health, cordons) and enforces GPU shares.
        self.guard = guard
        self.inventory = guard.inventory if guard is not None else inventory
        self.config = config
        self.reconciler = Reconciler(runtime, self.inventory, config.stop_grace_seconds)
        self.outbox = outbox if outbox is not None else Outbox(None)
        self._inventory_unsent = False  # changed since the last hello or inventory message
        # What the control plane has been told, or will be (by the next hello, or from the
        # outbox): kept across connections, so changes made while it is away are not lost.
        self.reported: dict[str, WorkloadStatus] = {**self.reconciler.actual(), **self.outbox.latest()}
        self.backoff = Backoff(config.backoff_initial, config.backoff_cap)
        self.queue_report = QueueStatusReport()
        self.metrics = shipper_for(self.reconciler, config.metrics_interval, config.metrics_batch_seconds)
        self._transport_factory = transport_factory
        self._session: Session | None = None
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set. Workloads keep running under their supervisors."""
        tasks = [
            asyncio.create_task(self._reconcile_loop()),
            asyncio.create_task(self._connection_loop()),
            asyncio.create_task(self.metrics.run(self._metrics_connection)),
        ]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in [stopper, *tasks]:
            task.cancel()
        results = await asyncio.gather(stopper, *tasks, return_exceptions=True)
        for task, result in zip([stopper, *tasks], results, strict=True):
            if task in done and isinstance(result, Exception):
                raise result
        log.info("agent stopped")

    async def _reconcile_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                statuses = self.reconciler.tick()
            except Exception:
                log.exception("reconcile tick failed; trying again on the next one")
                statuses = None
            if statuses is not None and self.guard is not None:
                await self._guard_tick(statuses)
            session = self._session
            if statuses is not None and (session is None or not session.ready):
                self._record_offline(statuses)
            elif session is not None and statuses is not None:
                try:
                    await session.publish(statuses)
                    await self.queue_report.send_changes(session, self.reconciler.queue_status)
                except TransportError as exc:
                    log.debug("could not publish: %s", exc)
                except Exception:
                    log.exception("publishing failed: dropping the connection to resync")
                    await session.abort()
            try:
                await asyncio.wait_for(self._wake.wait(), self.config.poll_interval)
            except TimeoutError:
                pass

    async def _guard_tick(self, statuses: dict[str, WorkloadStatus]) -> None:
        assert self.guard is not None
        try:
            changed = self.guard.tick(statuses, self.reconciler.desired)
        except Exception:
            log.exception("the GPU guard failed; trying again on the next tick")
            return
        if changed is not None:
            self._use_inventory(changed)
        session = self._session
        if self._inventory_unsent and session is not None and session.ready:
            try:
                await session.send(InventoryMessage(inventory=self.inventory))
                self._inventory_unsent = False
            except TransportError as exc:
                log.debug("could not send the inventory: %s", exc)

    def _use_inventory(self, inventory: Inventory) -> None:
        """Schedule on ``inventory`` from now on, and tell the control plane."""
        self.inventory = inventory
        self.reconciler.set_inventory(inventory)
        self._inventory_unsent = True

    def _record_offline(self, statuses: dict[str, WorkloadStatus]) -> None:
        """No connection: status changes of the runtime's workloads wait in the outbox."""
        known = self.reconciler.runtime.known()
        for workload_id, status in statuses.items():
            previous = self.reported.get(workload_id)
            if workload_id not in known or (previous is not None and reportable(previous) == reportable(status)):
                continue
            self.outbox.append(status)
            self.reported[workload_id] = status

    def _on_cordons(self, cordons: list[CordonSpec]) -> None:
        if self.guard is not None:
            changed = self.guard.set_cordons(cordons)
            if changed is not None:
                self._use_inventory(changed)  # before the tick that places the same message's work
        self._wake.set()

    def _metrics_connection(self) -> Send | None:
        session = self._session
        return session.send if session is not None and session.welcomed.is_set() else None

    async def _connection_loop(self) -> None:
        while True:
            session = Session(
                self._transport_factory(),
                self.reconciler,
                self.inventory,
                agent_version=agent.__version__,
                welcome_timeout=self.config.welcome_timeout,
                on_welcome=self.backoff.reset,
                on_desired_state=self._wake.set,
                outbox=self.outbox,
                reported=self.reported,
                on_cordons=self._on_cordons,
            )
            self._session = session
            try:
                await session.run()
            except TransportRefused as exc:
                log.error(
                    "the control plane refused this agent (HTTP %d): check the cluster id and the token; retrying",
                    exc.status_code,
                )
            except TransportError as exc:
                log.warning("connection to the control plane failed or was lost: %s", exc)
            except Exception:
                log.exception("the session failed")
            finally:
                self._session = None
            delay = self.backoff.next_delay()
            log.info("reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)
