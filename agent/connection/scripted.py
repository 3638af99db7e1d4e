"""A scripted transport: a test double that plays the control plane's side from a script.

Not for production use. The script is a list of steps: :class:`Expect` a message from the agent,
:class:`Deliver` one to it, or :class:`Close` the connection. Messages of the ``tolerate`` types
may come at any time (heartbeats, logs, statuses follow timing, not the script); anything else
that is not what the current step expects is a mismatch, reported with the full history of calls
so a failing test shows what the agent actually did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import BaseModel

from agent.connection.transport import Transport, TransportClosed, TransportRefused
from agent.protocol import ProtocolError, dump_message, parse_message

DEFAULT_TOLERATED = frozenset({"heartbeat", "log_chunk", "workload_status", "ack"})


@dataclass(frozen=True)
class Expect:
    """The agent must send a message of ``type`` for which ``where`` (if given) is true."""

    type: str
    where: Callable[[Any], bool] | None = None
    description: str = ""

    def matches(self, message: Any) -> bool:
        return message.type == self.type and (self.where is None or self.where(message))

    def __str__(self) -> str:
        return f"expect {self.type}" + (f" ({self.description})" if self.description else "")


@dataclass(frozen=True)
class Deliver:
    """The control plane sends ``message`` (a protocol model, or raw text for malformed
    input)."""

    message: BaseModel | str

    @property
    def raw(self) -> str:
        return self.message if isinstance(self.message, str) else dump_message(self.message)

    def __str__(self) -> str:
        return f"deliver {self.raw}"


@dataclass(frozen=True)
class Close:
    """The control plane closes the connection."""

    def __str__(self) -> str:
        return "close"


Step = Expect | Deliver | Close


class ScriptMismatch(AssertionError):
    """The agent did not follow the script."""


class ScriptedTransport(Transport):
    """Test double for :class:`Transport` that follows a script (see the module docstring)."""

    def __init__(
        self,
        script: Sequence[Step],
        tolerate: Collection[str] = DEFAULT_TOLERATED,
        refuse_with: int | None = None,
    ) -> None:
        self.steps = list(script)
        self.tolerate = frozenset(tolerate)
        self.refuse_with = refuse_with
        self.history: list[str] = []
        self.sent: list[Any] = []
        self.failure: ScriptMismatch | None = None
        self.closed = False
        self._changed = asyncio.Event()

    # --- Transport ----------------------------------------------------------------------------

    async def connect(self) -> None:
        self.history.append("connect")
        if self.refuse_with is not None:
            self.history.append(f"refused with HTTP {self.refuse_with}")
            raise TransportRefused(self.refuse_with, "scripted refusal")

    async def send(self, text: str) -> None:
        self.history.append(f"agent -> {text}")
        if self.closed:
            raise TransportClosed("scripted connection is closed")
        try:
            message = parse_message(text, sender="agent")
        except ProtocolError as exc:
            self._fail(f"the agent sent an invalid message: {exc}")
        self.sent.append(message)
        step = self.steps[0] if self.steps else None
        if isinstance(step, Expect) and step.matches(message):
            self.steps.pop(0)
            self._notify()
        elif step is not None and message.type not in self.tolerate:
            self._fail(f"unexpected {message.type} message")

    async def recv(self) -> str:
        while True:
            if self.failure is not None or self.closed:
                raise TransportClosed("scripted connection is closed")
            step = self.steps[0] if self.steps else None
            if isinstance(step, Deliver):
                self.steps.pop(0)
                self.history.append(f"control -> {step.raw}")
                self._notify()
                return step.raw
            if isinstance(step, Close):
                self.steps.pop(0)
                self.history.append("control closes")
                self.closed = True
                self._notify()
                raise TransportClosed("scripted close")
            await self._wait_for_change()

    async def close(self) -> None:
        self.history.append("agent closes")
        self.closed = True
        self._notify()

    # --- for tests ----------------------------------------------------------------------------

    async def wait_done(self, timeout: float = 10.0) -> None:
        """Wait until every step has happened; raise :class:`ScriptMismatch` with the history
        when the agent went off script or ``timeout`` passed first."""
        try:
            async with asyncio.timeout(timeout):
                while self.steps and self.failure is None:
                    await self._wait_for_change()
        except TimeoutError:
            raise ScriptMismatch(self._report(f"timed out after {timeout} s")) from None
        if self.failure is not None:
            raise self.failure

    def sent_of_type(self, message_type: str) -> list[Any]:
        """Messages of ``message_type`` the agent sent, in order."""
        return [m for m in self.sent if m.type == message_type]

    # --- internals ----------------------------------------------------------------------------

    def _fail(self, problem: str) -> NoReturn:
        self.failure = ScriptMismatch(self._report(problem))
        self._notify()
        raise self.failure

    def _report(self, problem: str) -> str:
        step = str(self.steps[0]) if self.steps else "(end of script)"
        history = "\n".join(f"  {line}" for line in self.history)
        return f"{problem}\nat step: {step}\nhistory of calls:\n{history}"

    def _notify(self) -> None:
        self._changed.set()

    async def _wait_for_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()
