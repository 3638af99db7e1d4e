"""Clusters and organisation units as Run:ai's API shows them."""

from typing import Any

from clusters.models import Cluster, Department, Project
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


def _gpu_resources(deserved: float, limit: float, weight: int) -> list[dict[str, Any]]:
    # Node pools arrive with the REST API work; until then every quota is on the default pool.
    return [
        {
            "nodePool": {"id": None, "name": "default"},
            "gpu": {"deserved": deserved, "limit": limit, "overQuotaWeight": weight},
        }
    ]


def department_representation(department: Department) -> dict[str, Any]:
    return {
        "id": str(department.pk),
        "name": department.name,
        "clusterId": str(department.cluster_id),
        "createdAt": iso_time(department.created_at),
        "resources": _gpu_resources(department.deserved_gpus, -1, 1),
    }


def project_representation(project: Project) -> dict[str, Any]:
    return {
        "id": str(project.pk),
        "name": project.name,
        "description": "",
        "clusterId": str(project.cluster_id),
        "parentId": str(project.department_id),
        "parentName": project.department.name,
        "requestedNamespace": project.namespace,
        "defaultNodePools": ["default"],
        "createdAt": iso_time(project.created_at),
        "updatedAt": iso_time(project.updated_at),
        "resources": _gpu_resources(project.deserved_gpus, project.max_allowed_gpus, project.gpu_over_quota_weight),
        "status": {"namespace": project.namespace, "phase": "Ready"},
    }
