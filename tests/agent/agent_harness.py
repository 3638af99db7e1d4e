"""Runs a whole agent in-process against scripted transports (one per connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from agent.connection.scripted import Deliver, Expect, ScriptedTransport
from agent.connection.transport import Transport
from agent.core import Agent, AgentConfig
from agent.gpu.discovery import discover_inventory
from agent.protocol import DesiredStateMessage, WelcomeMessage, WorkloadPhase, WorkloadSpec
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


def wait_for_file(path: Path) -> str:
    """Shell code that waits for ``path`` to appear, for 5 s at most (a failing test must not
    leave a workload running)."""
    return f"i=0; while [ ! -e {path} ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done"


def desired(*specs: WorkloadSpec, full: bool = True, removed: list[str] | None = None) -> Deliver:
    return Deliver(DesiredStateMessage(full=full, workloads=list(specs), removed=removed or []))


def status_is(workload_id: str, phase: WorkloadPhase, message: str | None = None) -> Expect:
    def where(m: Any) -> bool:
        return (
            m.status.workload_id == workload_id
            and m.status.phase == phase
            and (message is None or m.status.message == message)
        )

    return Expect("workload_status", where, f"{workload_id} {phase.value} {message or ''}")


def statuses_of(transport: ScriptedTransport, workload_id: str) -> list[Any]:
    return [m.status for m in transport.sent_of_type("workload_status") if m.status.workload_id == workload_id]


def chunks_of(transport: ScriptedTransport, workload_id: str, stream: str) -> list[Any]:
    return [m for m in transport.sent_of_type("log_chunk") if m.workload_id == workload_id and m.stream == stream]


def play(state_dir: Path, *transports: ScriptedTransport, gpus: int = 0) -> None:
    """Run an agent until every transport's script has been played out."""

    async def scenario() -> None:
        async with RunningAgent(state_dir, transports, simulated_gpus=gpus):
            for transport in transports:
                await transport.wait_done(timeout=15)

    asyncio.run(scenario())
