"""Runs a whole agent in-process against scripted transports (one per connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from agent.connection.scripted import ScriptedTransport
from agent.connection.transport import Transport
from agent.core import Agent, AgentConfig
from agent.gpu.discovery import discover_inventory
from agent.protocol import WelcomeMessage
from agent.runtime.local.runtime import LocalRuntime

FAST = AgentConfig(
    poll_interval=0.05,
    stop_grace_seconds=1.0,
    welcome_timeout=5.0,
    backoff_initial=0.01,
    backoff_cap=0.05,
)


def welcome(**fields: object) -> WelcomeMessage:
    values: dict[str, object] = {"cluster_id": "c-1", "heartbeat_interval": 0.1}
    values.update(fields)
    return WelcomeMessage.model_validate(values)


class RunningAgent:
    """``async with RunningAgent(state_dir, [script1, script2]) as agent:`` runs an agent whose
    n-th connection uses the n-th transport; later connections are refused."""

    def __init__(
        self,
        state_dir: Path,
        transports: Sequence[ScriptedTransport],
        simulated_gpus: int = 0,
        config: AgentConfig = FAST,
    ) -> None:
        self.transports = list(transports)
        self.connections = 0
        self.runtime = LocalRuntime(state_dir)
        self.inventory = discover_inventory("node-a", simulated_gpus)
        self.agent = Agent(self.runtime, self.inventory, self._next_transport, config)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _next_transport(self) -> Transport:
        self.connections += 1
        if self.connections <= len(self.transports):
            return self.transports[self.connections - 1]
        return ScriptedTransport([], refuse_with=503)

    async def __aenter__(self) -> RunningAgent:
        self._task = asyncio.create_task(self.agent.run(self._stop))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout=5)
