"""The interface every runtime implements: where and how workloads actually run.

The reconciler talks only to this interface, so the local runtime (processes on this host) and
a Kubernetes runtime are interchangeable. Methods are synchronous and must return quickly: they
start or signal work, they never wait for it to finish.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agent.gpu.enforcement import ComputeMode
from agent.protocol import GpuDevice, WorkloadSpec, WorkloadStatus

Stream = Literal["stdout", "stderr"]
STREAMS: tuple[Stream, ...] = ("stdout", "stderr")

PREEMPTED = "Preempted"
"""How the message of an evicted workload begins. Eviction is no ending: the workload is requeued
(Stopping, then Pending, with this message) and may be started again under the same id."""


@dataclass(frozen=True)
class WorkerPlacement:
    """Where one worker (process) of a workload runs: its node and the devices it uses."""

    node: str
    devices: tuple[GpuDevice, ...] = ()


class UnknownWorkload(KeyError):
    """The runtime has no record of this workload."""


class WorkloadExists(RuntimeError):
    """The runtime already has a record of this workload: it is never started twice."""


class Runtime(ABC):
    """Starts, stops and observes workloads, and keeps a durable record of each one until it is
    told to forget it."""

    @abstractmethod
    def start(
        self,
        spec: WorkloadSpec,
        node: str,
        devices: Sequence[GpuDevice],
        workers: Sequence[WorkerPlacement] = (),
        compute_mode: ComputeMode | None = None,
    ) -> None:
        """Start ``spec`` on ``devices`` of ``node``, or, when ``workers`` is given, one process
        per worker placement (a distributed workload's gang). ``compute_mode`` is that of the node
        pool it was placed in (None: the pool does not say, so the node's own). Raises :class:`WorkloadExists` if
        the workload was ever started (and not forgotten) unless it was evicted and has ended:
        then it starts again under the same id, its logs appended to. A workload that cannot run
        (no command) is recorded as failed rather than raising."""

    @abstractmethod
    def stop(self, workload_id: str, grace_seconds: float, reason: str | None = None) -> None:
        """Ask the workload to end (SIGTERM or equivalent), forcing it after ``grace_seconds``.
        Returns at once; :meth:`poll` reports Stopping, then Stopped, or with ``reason`` (the
        agent stopped it for a fault, e.g. its GPU memory cap) Failed with that reason. Stopping an
        evicted workload makes its end final (Stopped) rather than a requeue."""

    @abstractmethod
    def evict(self, workload_id: str, grace_seconds: float, reason: str) -> None:
        """Stop the workload as :meth:`stop` does, for the scheduler: :meth:`poll` reports it
        Stopping, then Pending (holding no device), with a message beginning :data:`PREEMPTED`
        and ``reason``. It never reaches a terminal phase by this; :meth:`start` runs it again."""

    @abstractmethod
    def placement(self, workload_id: str) -> tuple[WorkerPlacement, ...]:
        """Where each worker of the workload was last started (empty if it never was)."""

    @abstractmethod
    def poll(self) -> dict[str, WorkloadStatus]:
        """The current status of every known workload, by id."""

    @abstractmethod
    def known(self) -> set[str]:
        """Ids of every workload the runtime has a record of, running or finished."""

    @abstractmethod
    def forget(self, workload_id: str) -> None:
        """Delete the record of a finished workload, logs included."""

    @abstractmethod
    def log_size(self, workload_id: str, stream: Stream) -> int:
        """Bytes written so far to one output stream of a workload."""

    @abstractmethod
    def read_log(self, workload_id: str, stream: Stream, offset: int, limit: int) -> bytes:
        """Up to ``limit`` bytes of one output stream, from byte ``offset``."""
