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

from agent.connection.outbox import Outbox
from agent.connection.transport import Transport, TransportError
from agent.logship import LogShipper
from agent.protocol import (
    AckMessage,
    CordonSpec,
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


def reportable(status: WorkloadStatus) -> tuple[object, ...]:
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
        outbox: Outbox | None = None,
        reported: dict[str, WorkloadStatus] | None = None,
        on_cordons: Callable[[list[CordonSpec]], None] = lambda cordons: None,
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
        self.on_cordons = on_cordons
        # Status changes go through the outbox (kept until acknowledged); ``reported`` is what
        # the control plane has or will have from it, shared with the agent across connections.
        self._outbox = outbox if outbox is not None else Outbox(None)
        self._reported: dict[str, WorkloadStatus] = reported if reported is not None else {}
        self._outbox_sent: list[tuple[int, int]] = []  # (seq, outbox entry id) sent here
        self._outbox_flushed = 0
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
        await self._flush_outbox()  # changes from while the control plane was away, in order
        if not self._full_received:
            return  # Pending reasons may be stale until the control plane says what it wants.
        for workload_id in [w for w in self._reported if w not in statuses]:
            del self._reported[workload_id]
        known = self.runtime.known()
        for workload_id, status in statuses.items():
            previous = self._reported.get(workload_id)
            if previous is not None and reportable(previous) == reportable(status):
                continue
            if workload_id not in known and workload_id not in self.reconciler.desired:
                continue  # not started, and a desired state that came meanwhile dropped it
            if status.phase.is_terminal and not logs.caught_up(workload_id):
                continue
            self._outbox.append(status)
            self._reported[workload_id] = status
        await self._flush_outbox()
        self._forget_acknowledged(logs)

    @property
    def ready(self) -> bool:
        """Welcomed: what the agent publishes now goes out on this connection."""
        return self._logs is not None

    async def _flush_outbox(self) -> None:
        for entry in self._outbox.entries():
            if entry.id <= self._outbox_flushed:
                continue
            seq = await self._send(WorkloadStatusMessage(status=entry.status))
            self._outbox_flushed = entry.id
            self._outbox_sent.append((seq, entry.id))
            self._last_seq[entry.status.workload_id] = seq
            if entry.status.phase.is_terminal:
                self._final_sent.add(entry.status.workload_id)

    async def send(self, message: BaseModel) -> int:
        """Send one more message on this connection (a metrics batch); returns its number."""
        return await self._send(message)

    async def abort(self) -> None:
        """End the connection (the session's :meth:`run` then ends too)."""
        await self.transport.close()

    async def _hello(self) -> None:
        statuses = self.reconciler.actual()
        # A workload with changes in the outbox gets them in order after the welcome instead.
        waiting = self._outbox.latest()
        seq = await self._send(
            HelloMessage(
                agent_version=self.agent_version,
                inventory=self.inventory,
                workloads=[status for workload_id, status in statuses.items() if workload_id not in waiting],
            )
        )
        self._reported.clear()
        self._reported.update(statuses)
        self._reported.update(waiting)
        for workload_id, status in statuses.items():
            if workload_id in waiting:
                continue
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
            if message.cordons is not None:
                self.on_cordons(list(message.cordons))
            self._full_received = self._full_received or message.full
            self.on_desired_state()
        elif isinstance(message, AckMessage):
            self._acked = max(self._acked, message.ack_seq)
            delivered = [entry_id for seq, entry_id in self._outbox_sent if seq <= message.ack_seq]
            if delivered:
                self._outbox.remove_through(max(delivered))
                self._outbox_sent = [(seq, e) for seq, e in self._outbox_sent if seq > message.ack_seq]
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
        waiting = self._outbox.workloads()
        for workload_id in sorted(self._final_sent):
            if (
                workload_id in known
                and workload_id not in self.reconciler.desired
                and self._last_seq.get(workload_id, 0) <= self._acked
                and workload_id not in waiting
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
