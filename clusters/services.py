"""Domain operations on clusters: registration, agent authentication, inventory, liveness."""

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import Conflict
from accounts.services import rules
from agent.protocol import CordonSpec, Inventory
from clusters import pools
from clusters.models import Cluster, ClusterState, Department, Gpu, Node, NodePool, NodeStatus, Project

log = logging.getLogger(__name__)


def _hash_token(token: str) -> str:
    # Tokens are 256-bit random values, so a fast hash is enough; no salt or stretching needed.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewCluster:
    """A registered cluster and its agent token, which is shown only this once."""

    cluster: Cluster
    token: str


@transaction.atomic
def register_cluster(name: str) -> NewCluster:
    """Register a cluster with its ``default`` node pool; the agent token is returned once."""
    token = secrets.token_urlsafe(32)
    cluster = Cluster.objects.create(name=name, token_hash=_hash_token(token))
    NodePool.objects.create(cluster=cluster, name=NodePool.DEFAULT)
    return NewCluster(cluster=cluster, token=token)


def rotate_agent_token(cluster: Cluster) -> str:
    """Give the cluster a new agent token; the old one stops working at once."""
    token = secrets.token_urlsafe(32)
    cluster.token_hash = _hash_token(token)
    cluster.save(update_fields=["token_hash", "updated_at"])
    return token


def authenticate_agent(cluster_id: uuid.UUID, token: str) -> Cluster | None:
    cluster = Cluster.objects.filter(pk=cluster_id).first()
    # Compare even when the cluster is unknown, so timing does not tell which part was wrong.
    expected = cluster.token_hash if cluster else _hash_token(secrets.token_urlsafe(32))
    if hmac.compare_digest(expected, _hash_token(token)) and cluster is not None:
        return cluster
    return None


@transaction.atomic
def record_agent_hello(cluster: Cluster, agent_version: str, inventory: Inventory, channel: str = "") -> None:
    """The agent connected: it is live, and its inventory replaces what we knew of its nodes."""
    now = timezone.now()
    Cluster.objects.filter(pk=cluster.pk).update(
        state=ClusterState.CONNECTED, agent_version=agent_version, agent_channel=channel, last_seen=now, updated_at=now
    )
    record_agent_inventory(cluster, inventory)


@transaction.atomic
def record_agent_inventory(cluster: Cluster, inventory: Inventory) -> None:
    """The agent's nodes and devices as it reports them (at hello, or when they changed): health,
    MIG mode, MPS, labels, CPU and memory included; a node whose labels changed moves to the pool that now
    takes it. Cordons are the administrators' and stay as they are."""
    now = timezone.now()
    reported = {node.name for node in inventory.nodes}
    cluster.nodes.exclude(name__in=reported).update(status=NodeStatus.NOT_READY)
    for reported_node in inventory.nodes:
        node, _ = Node.objects.update_or_create(
            cluster=cluster,
            name=reported_node.name,
            defaults={
                "status": NodeStatus.READY,
                "simulated": reported_node.simulated,
                "driver_version": reported_node.driver_version or "",
                "cuda_version": reported_node.cuda_version or "",
                "mps": bool(reported_node.mps),
                "labels": reported_node.labels or {},
                "cpu_milli": reported_node.cpu_milli,
                "memory_mib": reported_node.memory_mib,
                "last_seen": now,
            },
        )
        node.gpus.exclude(index__in=[gpu.index for gpu in reported_node.gpus]).delete()
        for gpu in reported_node.gpus:
            Gpu.objects.update_or_create(
                node=node,
                index=gpu.index,
                defaults={
                    "uuid": gpu.uuid,
                    "model": gpu.model,
                    "memory_mib": gpu.memory_mib,
                    "simulated": gpu.simulated,
                    "mig_mode": gpu.mig_mode,
                    "healthy": gpu.healthy is not False,
                    "health_message": gpu.health_message or "",
                },
            )
    pools.assign_nodes(cluster)


def cluster_cordons(cluster_id: object) -> list[CordonSpec]:
    """The cluster's cordoned nodes and devices, as the agent receives them."""
    nodes = Node.objects.filter(cluster_id=cluster_id, cordoned=True).order_by("name")
    gpus = Gpu.objects.filter(node__cluster_id=cluster_id, cordoned=True).order_by("uuid")
    return [CordonSpec(target="node", name=n.name, drain=n.draining) for n in nodes] + [
        CordonSpec(target="device", name=g.uuid, drain=g.draining) for g in gpus
    ]


def set_cordon(target: Node | Gpu, cordoned: bool, drain: bool = False) -> Node | Gpu:
    """Cordon (nothing new is placed there) or drain (also stop what runs there) a node or a GPU,
    or lift it; the cluster's agent gets the cluster's cordons at once (or on reconnecting)."""
    from workloads import notify  # workloads imports clusters: import here, when needed

    target.cordoned = cordoned
    target.draining = cordoned and drain
    target.save(update_fields=["cordoned", "draining"])
    cluster_id = target.cluster_id if isinstance(target, Node) else target.node.cluster_id
    cordons = cluster_cordons(cluster_id)
    transaction.on_commit(lambda: notify.push_cordons(cluster_id, cordons))
    return target


def record_agent_heartbeat(cluster: Cluster) -> None:
    now = timezone.now()
    Cluster.objects.filter(pk=cluster.pk).update(state=ClusterState.CONNECTED, last_seen=now)
    cluster.nodes.filter(status=NodeStatus.READY).update(last_seen=now)


@transaction.atomic
def mark_cluster_offline(cluster: Cluster, channel: str | None = None) -> None:
    """Mark the cluster and its nodes offline; with ``channel``, only if that connection is still
    the agent's current one."""
    clusters = Cluster.objects.filter(pk=cluster.pk)
    if channel is not None:
        clusters = clusters.filter(agent_channel=channel)
    if clusters.update(state=ClusterState.DISCONNECTED, agent_channel="", updated_at=timezone.now()):
        cluster.nodes.update(status=NodeStatus.NOT_READY)


def mark_silent_clusters_offline(timeout_seconds: float | None = None) -> list[str]:
    """Mark offline, with their nodes, the connected clusters not heard from within the timeout.

    Returns the names of the clusters it marked.
    """
    timeout = settings.TESSERA_HEARTBEAT_TIMEOUT if timeout_seconds is None else timeout_seconds
    cutoff = timezone.now() - timedelta(seconds=timeout)
    silent = list(Cluster.objects.filter(state=ClusterState.CONNECTED, last_seen__lt=cutoff))
    for cluster in silent:
        log.warning("cluster %s missed its heartbeats since %s; marking it offline", cluster.name, cluster.last_seen)
        mark_cluster_offline(cluster)
    return [cluster.name for cluster in silent]


def connected_cluster_count() -> int:
    return Cluster.objects.filter(state=ClusterState.CONNECTED).count()


@transaction.atomic
def ensure_default_organisation(cluster: Cluster) -> Project:
    """Create the ``default`` node pool, department and project on a cluster, if missing."""
    NodePool.objects.get_or_create(cluster=cluster, name=NodePool.DEFAULT)
    department, _ = Department.objects.get_or_create(cluster=cluster, name="default")
    project, _ = Project.objects.get_or_create(cluster=cluster, name="default", defaults={"department": department})
    return project


def create_cluster(name: str) -> NewCluster:
    """Register a cluster for the API: a duplicate name is a conflict (409), not a fault."""
    try:
        return register_cluster(name)
    except IntegrityError:
        raise Conflict(f"A cluster named {name!r} already exists.") from None


def rename_cluster(cluster: Cluster, name: str) -> Cluster:
    """Give the cluster another name; its agent keeps its id and token."""
    try:
        with transaction.atomic():
            cluster.name = name
            cluster.save(update_fields=["name", "updated_at"])
    except IntegrityError:
        raise Conflict(f"A cluster named {name!r} already exists.") from None
    return cluster


@transaction.atomic
def delete_cluster(cluster: Cluster) -> None:
    """Delete a cluster that never ran a workload, with its pools, nodes, departments, projects
    and the access rules on them; one with workloads is refused (409), so no history is lost."""
    if cluster.workloads.exists():
        raise Conflict(f"Cluster {cluster.name!r} has workloads; it cannot be deleted.")
    rules.delete_rules_on(
        {
            "cluster": [cluster.pk],
            "department": list(cluster.departments.values_list("pk", flat=True)),
            "project": list(cluster.projects.values_list("pk", flat=True)),
        }
    )
    # Projects first: they protect their departments.
    cluster.projects.all().delete()
    cluster.delete()
