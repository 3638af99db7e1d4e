"""The scheduler's figures per department and project and node pool, as the agent reports them
(``queue_status``): stored as last reported, for the API and the console to show beside the quotas."""

from django.db import transaction
from django.utils import timezone

from agent.protocol import QueueStatusMessage
from clusters.models import Cluster, Department, NodePool, Project, QueueStatus


def _pk(queue_id: str) -> int | None:
    return int(queue_id) if queue_id.isdecimal() else None


def record(cluster: Cluster, message: QueueStatusMessage) -> int:
    """Replace what the cluster's scheduler last reported; returns how many figures were kept.
    Queues or pools the control plane no longer has (deleted since) are left out."""
    pools = dict(NodePool.objects.filter(cluster=cluster).values_list("name", "pk"))
    departments = set(Department.objects.filter(cluster=cluster).values_list("pk", flat=True))
    projects = set(Project.objects.filter(cluster=cluster).values_list("pk", flat=True))
    now = timezone.now()
    rows = {}
    for entry in message.queues:
        owner = _pk(entry.queue_id)
        known = departments if entry.kind == "department" else projects
        if owner not in known or entry.node_pool not in pools:
            continue
        rows[entry.kind, owner, entry.node_pool] = QueueStatus(
            node_pool_id=pools[entry.node_pool],
            department_id=owner if entry.kind == "department" else None,
            project_id=owner if entry.kind == "project" else None,
            fair_share=entry.fair_share_gpus,
            allocated=entry.allocated_gpus,
            over_quota=entry.over_quota,
            reported_at=now,
        )
    with transaction.atomic():
        QueueStatus.objects.filter(node_pool__cluster=cluster).delete()
        QueueStatus.objects.bulk_create(rows.values())
    return len(rows)
