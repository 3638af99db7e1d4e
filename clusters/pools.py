"""Node pools: which nodes each takes, and their creation, change and removal.

A pool selects nodes by one label (``labelKey=labelValue``); every node also carries
``kubernetes.io/hostname=<its name>``, so a pool can take nodes by name. A node belongs to
exactly one pool: the oldest pool whose label it has, else the cluster's ``default`` pool.
"""

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from accounts.errors import Conflict, Invalid
from agent.protocol import NodePoolSpec
from clusters import queues
from clusters.models import Cluster, GpuComputeMode, Node, NodePool, Project

HOSTNAME_LABEL = "kubernetes.io/hostname"


@dataclass(frozen=True)
class PoolSettings:
    """What a caller sets on a pool."""

    label_key: str
    label_value: str
    gpu_placement: str
    cpu_placement: str
    gpu_compute_mode: str = GpuComputeMode.FAIR


def node_labels(node: Node) -> dict[str, str]:
    """The node's labels, with the hostname label every node has."""
    return {**node.labels, HOSTNAME_LABEL: node.name}


def assign_nodes(cluster: Cluster) -> bool:
    """Put each of the cluster's nodes in the one pool that takes it (a node's labels or a pool's
    selector may have changed). When a node moved, the agent gets the pools once this commits.
    Returns whether one moved."""
    default, _ = NodePool.objects.get_or_create(cluster=cluster, name=NodePool.DEFAULT)
    selective = list(cluster.node_pools.exclude(pk=default.pk).order_by("created_at", "pk"))
    moved = False
    for node in cluster.nodes.all():
        labels = node_labels(node)
        pool = next((p for p in selective if labels.get(p.label_key) == p.label_value), default)
        if node.node_pool_id != pool.pk:
            Node.objects.filter(pk=node.pk).update(node_pool=pool)
            moved = True
    if moved:
        transaction.on_commit(lambda: push(cluster.pk))
    return moved


def cluster_pools(cluster_id: Any) -> list[NodePoolSpec]:
    """The cluster's pools as its agent places by them: each with the names of its nodes."""
    pools = NodePool.objects.filter(cluster_id=cluster_id).prefetch_related("nodes").order_by("name")
    return [
        NodePoolSpec(
            name=pool.name,
            nodes=sorted(node.name for node in pool.nodes.all()),
            gpu_placement=pool.gpu_placement,
            cpu_placement=pool.cpu_placement,
            gpu_compute_mode=pool.gpu_compute_mode,
        )
        for pool in pools
    ]


def as_understood(node_pools: list[NodePoolSpec], features: set[str]) -> list[NodePoolSpec]:
    """The pools as an agent with ``features`` reads them: without their compute mode for one
    older than it (that agent refuses the field, and keeps its command line's mode)."""
    if "pool_compute_mode" in features:
        return node_pools
    return [pool.model_copy(update={"gpu_compute_mode": None}) for pool in node_pools]


def push(cluster_id: Any) -> None:
    """Send the cluster's agent its node pools as they now stand (called once a change commits)."""
    from workloads import notify  # workloads imports clusters: import here, when needed

    notify.push_node_pools(cluster_id, cluster_pools(cluster_id))


def _check_selector(cluster: Cluster, settings: PoolSettings, pool: NodePool | None) -> None:
    same = cluster.node_pools.filter(label_key=settings.label_key, label_value=settings.label_value)
    if pool is not None:
        same = same.exclude(pk=pool.pk)
    other = same.first()
    if other is not None:
        raise Invalid(
            f"labelValue: node pool {other.name!r} already takes the nodes labelled "
            f"{settings.label_key}={settings.label_value}."
        )


def _changed(cluster: Cluster) -> None:
    if not assign_nodes(cluster):
        # No node moved, but a pool came, went or changed its placement or compute mode.
        transaction.on_commit(lambda: push(cluster.pk))
    # Quotas are given per pool, so the agent's queues change with the pools.
    transaction.on_commit(lambda: queues.push(cluster.pk))


def create_pool(cluster: Cluster, name: str, settings: PoolSettings, by: str) -> NodePool:
    """Create a pool on the cluster and move the nodes it selects into it."""
    if name == NodePool.DEFAULT:
        raise Conflict(f"Cluster {cluster.name!r} already has its default node pool.")
    try:
        with transaction.atomic():
            _check_selector(cluster, settings, None)
            pool = NodePool.objects.create(
                cluster=cluster,
                name=name,
                label_key=settings.label_key,
                label_value=settings.label_value,
                gpu_placement=settings.gpu_placement,
                cpu_placement=settings.cpu_placement,
                gpu_compute_mode=settings.gpu_compute_mode,
                created_by=by,
                updated_by=by,
            )
            _changed(cluster)
    except IntegrityError:
        raise Conflict(f"Cluster {cluster.name!r} already has a node pool named {name!r}.") from None
    return pool


@transaction.atomic
def update_pool(pool: NodePool, settings: PoolSettings, by: str) -> NodePool:
    """Change a pool's selector, placement and compute mode; the nodes follow the new selector."""
    if pool.is_default and (settings.label_key or settings.label_value):
        raise Invalid("labelKey: the default node pool takes every node no other pool takes; it has no label.")
    if not pool.is_default:
        _check_selector(pool.cluster, settings, pool)
        pool.label_key, pool.label_value = settings.label_key, settings.label_value
    pool.gpu_placement, pool.cpu_placement, pool.updated_by = settings.gpu_placement, settings.cpu_placement, by
    pool.gpu_compute_mode = settings.gpu_compute_mode
    pool.save()
    _changed(pool.cluster)
    return pool


@transaction.atomic
def delete_pool(pool: NodePool) -> None:
    """Delete a pool, with the quotas given on it and its place in projects' default node
    pools; its nodes go back to the default pool."""
    if pool.is_default:
        raise Conflict("The default node pool cannot be deleted.")
    cluster = pool.cluster
    for project in Project.objects.select_for_update().filter(cluster=cluster):
        if pool.name in project.default_node_pools:
            project.default_node_pools = [name for name in project.default_node_pools if name != pool.name]
            project.save(update_fields=["default_node_pools", "updated_at"])
    pool.delete()
    _changed(cluster)
