"""Small builders for placement tests."""

from __future__ import annotations

from agent.scheduler.placement import MILLI, Device, NodeState


def node(
    name: str = "n1",
    frees: tuple[int, ...] = (MILLI, MILLI),
    *,
    memory_mib: int = 0,
    cpu: int | None = None,
    ram: int | None = None,
    model: str = "",
    pool: str = "default",
) -> NodeState:
    """A node whose devices have the given free milli (memory free in proportion)."""
    devices = [Device(i, free, memory_mib, free * memory_mib // MILLI) for i, free in enumerate(frees)]
    return NodeState(
        name,
        devices,
        pool=pool,
        gpu_model=model,
        cpu_free_milli=cpu,
        memory_free_mib=ram,
        cpu_total_milli=cpu,
        memory_total_mib=ram,
    )


def frees(state: NodeState) -> list[int]:
    """Free milli per device, in device order."""
    return [d.free_milli for d in state.devices]
