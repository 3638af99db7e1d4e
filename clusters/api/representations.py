"""Clusters and organisation units as Run:ai's API shows them."""

from typing import Any

from clusters.models import Cluster, Department, Gpu, Node, NodePool, Project, QueueStatus, Quota
from controlplane.formats import iso_time


def cluster_representation(cluster: Cluster) -> dict[str, Any]:
    return {
        "uuid": str(cluster.pk),
        "tenantId": 1,
        "name": cluster.name,
        "createdAt": iso_time(cluster.created_at),
        "updatedAt": iso_time(cluster.updated_at),
        "deletedAt": None,
        "domain": None,
        "version": cluster.agent_version or None,
        "lastLiveness": iso_time(cluster.last_seen),
        "status": {"state": cluster.state, "conditions": [], "platform": {"type": "tessera-agent"}},
        # Tessera's own: the agent declared simulated GPUs because NVML found none.
        "simulated": cluster.simulated,
    }


def _share(deserved: float | None, limit: float, weight: float, **extra: Any) -> dict[str, Any]:
    return {"deserved": deserved, "limit": limit, "overQuotaWeight": weight, **extra}


def _resources(quotas: list[Quota], pools: list[NodePool]) -> list[dict[str, Any]]:
    """One entry per node pool of the cluster; a pool without a quota shows the defaults."""
    by_pool = {quota.node_pool_id: quota for quota in quotas}
    entries = []
    for pool in pools:
        q = by_pool.get(pool.pk) or Quota(node_pool=pool)
        entries.append(
            {
                "nodePool": {"id": str(pool.pk), "name": pool.name},
                "gpu": _share(q.gpu_deserved, q.gpu_limit, q.gpu_weight),
                "cpu": _share(q.cpu_deserved, q.cpu_limit, q.cpu_weight),
                "memory": _share(q.memory_deserved, q.memory_limit, q.memory_weight, units="Mib"),
                "priority": "Normal",
            }
        )
    return entries


def _total(resources: list[dict[str, Any]]) -> dict[str, Any]:
    def total(kind: str) -> float | None:
        values = [entry[kind]["deserved"] for entry in resources if entry[kind]["deserved"] is not None]
        return sum(values) if values else None

    return {"gpuQuota": total("gpu"), "cpuQuota": total("cpu"), "memoryQuota": total("memory")}


def _quota_status(statuses: list[QueueStatus], pools: list[NodePool], **status: Any) -> dict[str, Any]:
    """Run:ai's status of an organisation unit: per node pool, the GPUs it holds, as the cluster's
    scheduler last reported (``{}`` until it has), and in all. ``fairShare`` and ``overQuota`` are
    Tessera's own: the share the scheduler computed by water-filling, and whether the unit holds
    more than it deserves there."""
    by_pool = {entry.node_pool_id: entry for entry in statuses}
    per_pool = []
    for pool in pools:
        entry = by_pool.get(pool.pk)
        per_pool.append(
            {
                "nodePoolId": str(pool.pk),
                "nodePoolName": pool.name,
                "allocated": {} if entry is None else {"gpus": entry.allocated},
                "fairShare": {} if entry is None else {"gpus": entry.fair_share},
                "overQuota": None if entry is None else entry.over_quota,
            }
        )
    return {
        **status,
        "lastUpdatedTime": iso_time(max((entry.reported_at for entry in statuses), default=None)),
        "nodePoolQuotaStatuses": per_pool,
        "quotaStatus": {"allocated": {"gpus": sum(entry.allocated for entry in statuses)} if statuses else {}},
    }


ORG_PREFETCH = ("quotas__node_pool", "cluster__node_pools", "queue_statuses")


def department_representation(department: Department) -> dict[str, Any]:
    """Run:ai's ``DepartmentForList``; fetch with ``ORG_PREFETCH`` and ``projects``."""
    pools = list(department.cluster.node_pools.all())
    resources = _resources(list(department.quotas.all()), pools)
    return {
        "id": str(department.pk),
        "name": department.name,
        "description": department.description,
        "clusterId": str(department.cluster_id),
        "createdAt": iso_time(department.created_at),
        "updatedAt": iso_time(department.updated_at),
        "defaultNodePools": None,
        "children": [{"id": str(p.pk), "name": p.name} for p in department.projects.all()],
        "resources": resources,
        "totalResources": _total(resources),
        "status": _quota_status(list(department.queue_statuses.all()), pools, phase="Ready"),
    }


def project_representation(project: Project) -> dict[str, Any]:
    """Run:ai's ``Project``; fetch with ``ORG_PREFETCH`` and the department."""
    pools = list(project.cluster.node_pools.all())
    resources = _resources(list(project.quotas.all()), pools)
    return {
        "id": str(project.pk),
        "name": project.name,
        "description": project.description,
        "clusterId": str(project.cluster_id),
        "parentId": str(project.department_id),
        "parentName": project.department.name,
        "requestedNamespace": project.namespace,
        "defaultNodePools": project.node_pools_by_default,
        "createdAt": iso_time(project.created_at),
        "updatedAt": iso_time(project.updated_at),
        "resources": resources,
        "totalResources": _total(resources),
        "status": _quota_status(list(project.queue_statuses.all()), pools, namespace=project.namespace, phase="Ready"),
    }


def node_pool_representation(pool: NodePool) -> dict[str, Any]:
    """Run:ai's ``Nodepool``; fetch with the cluster and ``nodes``."""
    nodes = [node.name for node in pool.nodes.all()]
    return {
        "id": str(pool.pk),
        "name": pool.name,
        "isDefault": pool.is_default,
        "labelKey": pool.label_key,
        "labelValue": pool.label_value,
        "clusterId": str(pool.cluster_id),
        "clusterName": pool.cluster.name,
        "tenantId": 1,
        "overProvisioningRatio": 1,
        "placementStrategy": {"gpu": pool.gpu_placement, "cpu": pool.cpu_placement},
        "gpuComputeMode": pool.gpu_compute_mode,  # Tessera's own: see NodePoolUpdateSerializer
        "phase": "Ready" if nodes else "Empty",
        "phaseMessage": "" if nodes else "No node has the pool's label.",
        "status": {"nodes": nodes},
        "createdBy": pool.created_by,
        "createdAt": iso_time(pool.created_at),
        "updatedBy": pool.updated_by,
        "updatedAt": iso_time(pool.updated_at),
        "deletedAt": None,
    }


# A cordoned node carries the taint Kubernetes gives one (``kubectl cordon``); a draining node also
# one whose NoExecute effect says what draining does: what runs there is stopped.
CORDON_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
DRAIN_TAINT = {"key": "tessera.io/draining", "effect": "NoExecute"}


def gpu_state(gpu: Gpu) -> dict[str, Any]:
    """A GPU's health and cordon, as the nodes and cordon endpoints show them."""
    return {
        "index": gpu.index,
        "uuid": gpu.uuid,
        "healthy": gpu.healthy,
        "healthMessage": gpu.health_message,
        "migMode": gpu.mig_mode,
        "cordoned": gpu.cordoned,
        "draining": gpu.draining,
    }


def node_taints(node: Node) -> list[dict[str, str]]:
    """Run:ai's (Kubernetes') ``taints`` of a node: whether anything new may be placed there."""
    return [taint for taint, on in ((CORDON_TAINT, node.cordoned), (DRAIN_TAINT, node.draining)) if on]


def node_conditions(gpus: list[Gpu]) -> list[dict[str, str]]:
    """Run:ai's ``conditions`` of a node: one per GPU the agent found faulty (nothing is placed on it)."""
    return [
        {"type": "GpuUnhealthy", "reason": "GpuFault", "message": f"GPU {gpu.index} ({gpu.uuid}): {gpu.health_message}"}
        for gpu in gpus
        if not gpu.healthy
    ]


def node_representation(node: Node) -> dict[str, Any]:
    """Run:ai's ``Node``, with each GPU's health and cordon in Tessera's ``gpuInfo.gpus``; fetch
    with ``node_pool`` and ``gpus``."""
    gpus = list(node.gpus.all())
    return {
        "id": str(node.pk),
        "name": node.name,
        "clusterUuid": str(node.cluster_id),
        "status": node.status,
        "conditions": node_conditions(gpus),
        "taints": node_taints(node),
        "nodePool": node.node_pool.name if node.node_pool else NodePool.DEFAULT,
        "gpuInfo": {
            "gpuType": gpus[0].model if gpus else None,
            "gpuCount": len(gpus),
            "simulated": node.simulated,  # Tessera's own: NVML found no GPU, so the agent declared these
            "gpus": [gpu_state(gpu) for gpu in gpus],  # Tessera's own
        },
        # Tessera's own: what the agent reports, and places CPU and memory requests against.
        "cpuInfo": {
            "cores": None if node.cpu_milli is None else node.cpu_milli / 1000,
            "memory": None if node.memory_mib is None else f"{node.memory_mib}Mi",
        },
        "createdAt": iso_time(node.created_at),
        "updatedAt": iso_time(node.last_seen),
    }
