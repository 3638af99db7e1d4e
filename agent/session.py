"""One connection to the control plane, from hello to the end of the connection.

The session says hello with the full actual state, waits for the welcome (which tells where
each log stream resumes), takes in desired states and acknowledgements, sends heartbeats, and
publishes what each reconcile tick produced: new log output first, then status changes. It also
decides when a finished workload's record may be deleted: only once the control plane has
acknowledged its final status and every byte of its logs, and no longer wants it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from pydantic import BaseModel

from agent.connection.transport import Transport, TransportError
from agent.logship import LogShipper
from agent.protocol import (
    AckMessage,
    DesiredStateMessage,
    ErrorMessage,
    HeartbeatMessage,
    HelloMessage,
    Inventory,
    ProtocolError,
    WelcomeMessage,
    WorkloadStatus,
    WorkloadStatusMessage,
    dump_message,
    parse_message,
)
from agent.reconciler import Reconciler
from agent.runtime.base import STREAMS

log = logging.getLogger(__name__)

MAX_CHUNKS_PER_STREAM_PER_TICK = 16


class SessionError(TransportError):
    """The control plane did not hold up its side of the protocol (e.g. no welcome)."""


def _reportable(status: WorkloadStatus) -> tuple[object, ...]:
    # Only these fields make a status "changed"; timestamps alone do not.
    return (status.phase, status.message, status.exit_code, status.node, tuple(status.gpus))


def _seq_of(raw: str) -> int | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    seq = data.get("seq") if isinstance(data, dict) else None
    return seq if isinstance(seq, int) else None


class Session:
    """The agent's side of one connection."""

    def __init__(
        self,
        transport: Transport,
        reconciler: Reconciler,
        inventory: Inventory,
        agent_version: str,
        welcome_timeout: float = 30.0,
        on_welcome: Callable[[], None] = lambda: None,
        on_desired_state: Callable[[], None] = lambda: None,
    ) -> None:
        self.transport = transport
        self.reconciler = reconciler
        self.runtime = reconciler.runtime
        self.inventory = inventory
        self.agent_version = agent_version
        self.welcome_timeout = welcome_timeout
        self.on_welcome = on_welcome
        self.on_desired_state = on_desired_state
        self.welcomed = asyncio.Event()
        self.heartbeat_interval = 5.0
        self._seq = 0
        self._send_lock = asyncio.Lock()
        self._logs: LogShipper | None = None
        self._full_received = False
        self._acked = 0
        self._reported: dict[str, WorkloadStatus] = {}
        self._last_seq: dict[str, int] = {}  # the latest message about each workload
        self._final_sent: set[str] = set()  # workloads whose final status went out here

    async def run(self) -> None:
        """Connect and serve the connection until it ends; always raises when it does."""
        await self.transport.connect()
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._hello()
            tasks = [
                asyncio.create_task(self._read_loop()),
                asyncio.create_task(self._heartbeat_loop()),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            raise SessionError("the session ended")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.transport.close()

    async def publish(self, statuses: dict[str, WorkloadStatus]) -> None:
        """Send what changed since the last tick: log output first, so a finished workload's
        logs are complete before its final status, then status changes; then forget finished
        workloads the control plane has fully acknowledged."""
        logs = self._logs
        if logs is None:
            return
        for workload_id in sorted(self.runtime.known()):
            status = statuses.get(workload_id)
            final = status is not None and status.phase.is_terminal
            for stream in STREAMS:
                for _ in range(MAX_CHUNKS_PER_STREAM_PER_TICK):
                    chunk = logs.next_chunk(workload_id, stream, final)
                    if chunk is None:
                        break
                    self._last_seq[workload_id] = await self._send(chunk)
        if not self._full_received:
            return  # Pending reasons may be stale until the control plane says what it wants.
        for workload_id in [w for w in self._reported if w not in statuses]:
            del self._reported[workload_id]
        known = self.runtime.known()
        for workload_id, status in statuses.items():
            previous = self._reported.get(workload_id)
            if previous is not None and _reportable(previous) == _reportable(status):
                continue
            if workload_id not in known and workload_id not in self.reconciler.desired:
                continue  # not started, and a desired state that came meanwhile dropped it
            if status.phase.is_terminal and not logs.caught_up(workload_id):
                continue
            self._last_seq[workload_id] = await self._send(WorkloadStatusMessage(status=status))
            self._reported[workload_id] = status
            if status.phase.is_terminal:
                self._final_sent.add(workload_id)
        self._forget_acknowledged(logs)

    async def send(self, message: BaseModel) -> int:
        """Send one more message on this connection (a metrics batch); returns its number."""
        return await self._send(message)

    async def abort(self) -> None:
        """End the connection (the session's :meth:`run` then ends too)."""
        await self.transport.close()

    async def _hello(self) -> None:
        statuses = self.reconciler.actual()
        seq = await self._send(
            HelloMessage(
                agent_version=self.agent_version,
                inventory=self.inventory,
                workloads=list(statuses.values()),
            )
        )
        self._reported = dict(statuses)
        for workload_id, status in statuses.items():
            self._last_seq[workload_id] = seq
            if status.phase.is_terminal:
                self._final_sent.add(workload_id)

    async def _read_loop(self) -> None:
        while True:
            await self._handle(await self.transport.recv())

    async def _handle(self, raw: str) -> None:
        try:
            message = parse_message(raw, sender="control")
        except ProtocolError as exc:
            log.warning("rejected a message from the control plane: %s", exc)
            await self._send(ErrorMessage(message=str(exc), ref_seq=_seq_of(raw)))
            return
        if isinstance(message, WelcomeMessage):
            self._welcome(message)
        elif isinstance(message, DesiredStateMessage):
            self.reconciler.apply(message)
            self._full_received = self._full_received or message.full
            self.on_desired_state()
        elif isinstance(message, AckMessage):
            self._acked = max(self._acked, message.ack_seq)
            log.debug("control plane acknowledged up to %d", message.ack_seq)
        elif isinstance(message, ErrorMessage):
            log.warning("the control plane rejected message %s: %s", message.ref_seq, message.message)

    def _welcome(self, message: WelcomeMessage) -> None:
        if self.welcomed.is_set():
            log.warning("ignoring a second welcome on the same connection")
            return
        self.heartbeat_interval = message.heartbeat_interval
        self._logs = LogShipper(self.runtime, message.log_offsets)
        self.welcomed.set()
        log.info("connected to the control plane as cluster %s", message.cluster_id)
        self.on_welcome()

    async def _heartbeat_loop(self) -> None:
        try:
            await asyncio.wait_for(self.welcomed.wait(), self.welcome_timeout)
        except TimeoutError:
            raise SessionError(f"no welcome from the control plane within {self.welcome_timeout:g} s") from None
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            await self._send(HeartbeatMessage())

    def _forget_acknowledged(self, logs: LogShipper) -> None:
        known = self.runtime.known()
        for workload_id in sorted(self._final_sent):
            if (
                workload_id in known
                and workload_id not in self.reconciler.desired
                and self._last_seq.get(workload_id, 0) <= self._acked
                and logs.caught_up(workload_id)
            ):
                self.reconciler.forget(workload_id)
                logs.forget(workload_id)
                self._final_sent.discard(workload_id)
                self._reported.pop(workload_id, None)
                self._last_seq.pop(workload_id, None)

    async def _send(self, message: BaseModel) -> int:
        """Number ``message`` with the next sequence number and send it; returns the number."""
        async with self._send_lock:
            self._seq += 1
            await self.transport.send(dump_message(message.model_copy(update={"seq": self._seq})))
            return self._seq
