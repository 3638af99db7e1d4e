"""A cluster's departments and projects as the agent's scheduling queues, and their push."""

from typing import Any

from agent.protocol import PoolQuota, QueueSpec, ResourceQuota
from clusters.models import Department, Project, Quota


def _pool_quota(quota: Quota) -> PoolQuota:
    def share(deserved: float | None, limit: float, weight: float) -> ResourceQuota | None:
        return None if deserved is None else ResourceQuota(deserved=deserved, limit=limit, over_quota_weight=weight)

    return PoolQuota(
        node_pool=quota.node_pool.name,
        gpu=ResourceQuota(deserved=quota.gpu_deserved, limit=quota.gpu_limit, over_quota_weight=quota.gpu_weight),
        cpu=share(quota.cpu_deserved, quota.cpu_limit, quota.cpu_weight),
        memory=share(quota.memory_deserved, quota.memory_limit, quota.memory_weight),
    )


def cluster_queues(cluster_id: Any) -> list[QueueSpec]:
    """Every department of the cluster, then every project, with its quotas per node pool."""
    quotas = Quota.objects.filter(node_pool__cluster_id=cluster_id).select_related("node_pool")
    by_owner: dict[tuple[str, int], list[PoolQuota]] = {}
    for quota in quotas:
        owner = ("department", quota.department_id) if quota.department_id else ("project", quota.project_id)
        by_owner.setdefault(owner, []).append(_pool_quota(quota))  # type: ignore[arg-type]
    departments = [
        QueueSpec(id=str(d.pk), name=d.name, kind="department", pools=by_owner.get(("department", d.pk), []))
        for d in Department.objects.filter(cluster_id=cluster_id).order_by("pk")
    ]
    projects = [
        QueueSpec(
            id=str(p.pk),
            name=p.name,
            kind="project",
            parent=str(p.department_id),
            pools=by_owner.get(("project", p.pk), []),
        )
        for p in Project.objects.filter(cluster_id=cluster_id).order_by("pk")
    ]
    return departments + projects


def push(cluster_id: Any) -> None:
    """Send the cluster's agent its queues as they now stand (called once a change commits)."""
    from workloads import notify

    notify.push_queues(cluster_id, cluster_queues(cluster_id))
