"""The agent's whole-GPU view: devices named by uuid, jobs without queues.

The agent's reconciler speaks this small dialect; :func:`agent.scheduler.schedule` translates it
to a :class:`~agent.scheduler.api.Snapshot` and back, so the agent runs the full scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeSnapshot:
    """A node, its whole GPU devices in placement order, and which of them are in use."""

    name: str
    devices: tuple[str, ...] = ()
    used: frozenset[str] = frozenset()

    @property
    def free(self) -> tuple[str, ...]:
        """Devices not in use, in placement order."""
        return tuple(device for device in self.devices if device not in self.used)


@dataclass(frozen=True)
class PendingJob:
    """A job waiting to be placed: how many whole GPUs it needs and how it ranks."""

    id: str
    gpu_devices: int = 0
    priority: int = 50
    submitted_at: float = 0.0


@dataclass(frozen=True)
class RunningAllocation:
    """A job already running: the node and devices it holds."""

    job_id: str
    node: str
    devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterSnapshot:
    """Everything one scheduling cycle looks at."""

    nodes: tuple[NodeSnapshot, ...] = ()
    pending: tuple[PendingJob, ...] = ()
    running: tuple[RunningAllocation, ...] = ()


@dataclass(frozen=True)
class Placement:
    """Where a job is to be started."""

    node: str
    devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decisions:
    """The outcome of one cycle: placements for jobs to start, and a human-readable reason for
    every job that stays pending."""

    placements: Mapping[str, Placement] = field(default_factory=dict)
    pending_reasons: Mapping[str, str] = field(default_factory=dict)
