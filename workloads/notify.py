"""Fan-out after a change is committed: to the cluster's agent and to every watching browser."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from agent.protocol import CordonSpec, NodePoolSpec, QueueSpec, WorkloadSpec

log = logging.getLogger(__name__)

BROWSER_GROUP = "workloads"


def cluster_group(cluster_id: Any) -> str:
    """The channel-layer group that the cluster's agent connection listens on."""
    return f"cluster.{cluster_id}"


def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The database holds the truth: a lost push is repaired when the agent reconnects and
        # receives the full desired state, or when the browser reloads.
        log.exception("could not publish to %s", group)


def push_desired_delta(cluster_id: Any, upserts: list[WorkloadSpec], removed: list[str]) -> None:
    _group_send(
        cluster_group(cluster_id),
        {
            "type": "desired.delta",
            "workloads": [spec.model_dump(mode="json") for spec in upserts],
            "removed": removed,
        },
    )


def push_queues(cluster_id: Any, queues: list[QueueSpec]) -> None:
    """The cluster's departments and projects changed: its agent gets the whole set again."""
    _group_send(
        cluster_group(cluster_id),
        {"type": "desired.queues", "queues": [queue.model_dump(mode="json") for queue in queues]},
    )


def push_cordons(cluster_id: Any, cordons: list[CordonSpec]) -> None:
    """An administrator cordoned, drained or uncordoned a node or a GPU: the agent gets them all."""
    _group_send(
        cluster_group(cluster_id),
        {"type": "desired.cordons", "cordons": [cordon.model_dump(mode="json") for cordon in cordons]},
    )


def push_node_pools(cluster_id: Any, pools: list[NodePoolSpec]) -> None:
    """A pool, its selector or placement, or a node's membership changed: the agent gets them all."""
    _group_send(
        cluster_group(cluster_id),
        {"type": "desired.node_pools", "node_pools": [pool.model_dump(mode="json") for pool in pools]},
    )


def broadcast_workload(representation: dict[str, Any]) -> None:
    _group_send(BROWSER_GROUP, {"type": "workload.changed", "workload": representation})
