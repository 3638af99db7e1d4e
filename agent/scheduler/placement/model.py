"""Capacity types that every placement decision works on.

``NodeState`` and ``Device`` are mutable on purpose: a scheduling cycle or a trace replay
subtracts and adds capacity as it tries placements, and rolls them back with the exact inverse
(see :mod:`agent.scheduler.placement.capacity`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MILLI = 1000
"""A whole GPU, in milli-GPUs."""


@dataclass(slots=True)
class Device:
    """One GPU of a node: its free share (milli) and memory, and whether it may be used."""

    index: int
    free_milli: int = MILLI
    memory_mib: int = 0
    free_memory_mib: int = 0
    healthy: bool = True


@dataclass(slots=True)
class NodeState:
    """The capacity of one node that is still free during a cycle or a replay.

    ``None`` for CPU or memory means the node does not limit it. ``version`` grows on every
    change made through ``take``/``give_back`` so that caches of scores can tell they are stale;
    whoever changes a node another way must bump it too.
    """

    name: str
    devices: list[Device] = field(default_factory=list)
    pool: str = "default"
    gpu_model: str = ""
    cpu_free_milli: int | None = None
    memory_free_mib: int | None = None
    cpu_total_milli: int | None = None
    memory_total_mib: int | None = None
    version: int = field(default=0, compare=False, repr=False)

    def copy(self) -> NodeState:
        """An independent copy (its own devices), at version 0, for a fresh cycle or replay."""
        devices = [Device(d.index, d.free_milli, d.memory_mib, d.free_memory_mib, d.healthy) for d in self.devices]
        return NodeState(
            self.name,
            devices,
            self.pool,
            self.gpu_model,
            self.cpu_free_milli,
            self.memory_free_mib,
            self.cpu_total_milli,
            self.memory_total_mib,
        )

    def free_whole_devices(self) -> int:
        """How many healthy devices are entirely free."""
        return sum(1 for d in self.devices if d.healthy and d.free_milli >= MILLI)

    def free_gpu_milli(self) -> int:
        """Free milli-GPUs over the healthy devices (an unhealthy device offers nothing)."""
        return sum(d.free_milli for d in self.devices if d.healthy)

    def total_gpu_milli(self) -> int:
        """Capacity of the healthy devices, in milli-GPUs."""
        return MILLI * sum(1 for d in self.devices if d.healthy)


@dataclass(frozen=True, slots=True)
class PodRequest:
    """What one pod needs from one node.

    ``gpus`` devices, each at ``milli`` (1000 = whole); several devices at one portion are
    allowed when the caller asks for them. ``gpu_memory_mib`` replaces ``milli``: the pod needs
    that much memory on each device, which is converted per device to a share of it.
    """

    gpus: int = 0
    milli: int = MILLI
    gpu_memory_mib: int | None = None
    cpu_milli: int = 0
    memory_mib: int = 0
    gpu_models: frozenset[str] | None = None
    pool: str | None = None
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        if self.gpus < 0 or self.cpu_milli < 0 or self.memory_mib < 0:
            raise ValueError("a pod cannot ask for a negative amount")
        if self.gpu_memory_mib is not None and self.gpu_memory_mib <= 0:
            raise ValueError("a GPU memory request must be positive")
        if self.gpus > 0 and self.gpu_memory_mib is None and not 0 < self.milli <= MILLI:
            raise ValueError(f"a GPU share must be between 1 and {MILLI} milli, got {self.milli}")
        # Requests key many lookups (per node and request) in a cycle: hash once.
        fields = (
            self.gpus,
            self.milli,
            self.gpu_memory_mib,
            self.cpu_milli,
            self.memory_mib,
            self.gpu_models,
            self.pool,
        )
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash

    @property
    def shared(self) -> bool:
        """True when the pod takes a part of one device, which may already be partly used."""
        return self.gpus == 1 and (self.gpu_memory_mib is not None or self.milli < MILLI)

    @property
    def whole(self) -> bool:
        """True when every device the pod uses must be entirely free."""
        return self.gpus > 0 and self.gpu_memory_mib is None and self.milli >= MILLI
