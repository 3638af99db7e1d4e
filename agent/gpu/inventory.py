"""The inventory the agent reports and schedules on: discovered devices plus what it knows about
them since (health, cordons, MPS)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.protocol import CordonSpec, Inventory, NodeInventory


def with_flags(
    inventory: Inventory,
    unhealthy: Mapping[str, str],
    cordons: Sequence[CordonSpec],
    mps: bool = False,
) -> Inventory:
    """``inventory`` with each device's health and cordon flags, and each node's cordon and MPS
    flags, set from what is known now. Flags that do not apply are left off (None)."""
    cordoned_nodes = {c.name for c in cordons if c.target == "node"}
    cordoned_devices = {c.name for c in cordons if c.target == "device"}
    nodes = []
    for node in inventory.nodes:
        gpus = [
            gpu.model_copy(
                update={
                    "healthy": False if gpu.uuid in unhealthy else None,
                    "health_message": unhealthy.get(gpu.uuid),
                    "cordoned": True if gpu.uuid in cordoned_devices else None,
                }
            )
            for gpu in node.gpus
        ]
        update = {
            "gpus": gpus,
            "cordoned": True if node.name in cordoned_nodes else None,
            "mps": True if mps else None,
        }
        nodes.append(
            NodeInventory.model_validate({**node.model_dump(), **update, "gpus": [g.model_dump() for g in gpus]})
        )
    return Inventory(nodes=nodes)


def unschedulable_devices(inventory: Inventory) -> set[str]:
    """UUIDs of the devices nothing new may be placed on: unhealthy, cordoned, or on a cordoned
    node. The scheduler adapter leaves them out of its snapshot."""
    return {gpu.uuid for node in inventory.nodes for gpu in node.gpus if node.cordoned or not gpu.schedulable}
