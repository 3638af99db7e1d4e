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
from agent.connection.transport import Transport, TransportError, TransportRefused
from agent.metrics import Send, seconds_from_env, shipper_for
from agent.protocol import Inventory
from agent.reconciler import Reconciler
from agent.runtime.base import Runtime
from agent.session import Session

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
    ) -> None:
        self.inventory = inventory
        self.config = config
        self.reconciler = Reconciler(runtime, inventory, config.stop_grace_seconds)
        self.backoff = Backoff(config.backoff_initial, config.backoff_cap)
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
            session = self._session
            if session is not None and statuses is not None:
                try:
                    await session.publish(statuses)
                except TransportError as exc:
                    log.debug("could not publish: %s", exc)
                except Exception:
                    log.exception("publishing failed: dropping the connection to resync")
                    await session.abort()
            try:
                await asyncio.wait_for(self._wake.wait(), self.config.poll_interval)
            except TimeoutError:
                pass

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
