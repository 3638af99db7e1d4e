"""GPU figures for the pages, from what the agents report: how many GPUs each node pool has and
how many running workloads hold, per pool, department and project. Presentational only: the
scheduler's own accounting (fair share, over-quota) stays in the agent."""

from collections import defaultdict
from typing import Any

from accounts.access import scope_filter
from accounts.roles import DASHBOARDS
from clusters.models import Cluster, Department, DepartmentQuerySet, Node, Project
from usage.models import DeviceSample
from usage.services import latest_instants
from workloads.models import Workload

# Samples older than this do not say what is in use now.
FRESH_SECONDS = 120


def held_gpus(workload: Workload) -> float:
    """GPUs a running workload holds: its devices, each at its portion when it asked for one."""
    devices = len(workload.allocated_gpus) or workload.gpu_devices
    return devices * (workload.gpu_portion if workload.gpu_portion is not None else 1.0)


def _running(user: Any) -> Any:
    return Workload.objects.restrict(user, "read").live().filter(phase="Running").select_related("project")


def _pool_of_node(cluster_ids: list[Any]) -> dict[tuple[str, str], int | None]:
    nodes = Node.objects.filter(cluster_id__in=cluster_ids).values_list("cluster_id", "name", "node_pool_id")
    return {(str(cluster), name): pool for cluster, name, pool in nodes}


def allocated_gpus(user: Any) -> dict[tuple[str, Any], float]:
    """GPUs held by running workloads the subject may see, keyed by ("project", id),
    ("department", id) and ("pool", id)."""
    running = list(_running(user))
    pools = _pool_of_node(sorted({w.cluster_id for w in running}))
    held: dict[tuple[str, Any], float] = defaultdict(float)
    for workload in running:
        gpus = held_gpus(workload)
        held["project", workload.project_id] += gpus
        held["department", workload.project.department_id] += gpus
        pool = pools.get((str(workload.cluster_id), workload.node_name))
        if pool is not None:
            held["pool", pool] += gpus
    return dict(held)


def devices_in_use(cluster: Cluster, instant: Any) -> dict[int | None, int] | None:
    """Per node pool, the devices busy (utilisation above 0) at the cluster's latest sampling
    instant; None where the agent reports no utilisation (simulated devices, or no NVML)."""
    if instant is None:
        return None
    samples = DeviceSample.objects.filter(cluster=cluster, at=instant).values_list("node", "gpu_utilization")
    pool_of = {node.name: node.node_pool_id for node in cluster.nodes.all()}
    busy: dict[int | None, int] = defaultdict(int)
    measured = False
    for node, utilisation in samples:
        if utilisation is not None:
            measured = True
            busy[pool_of.get(node)] += utilisation > 0
    return dict(busy) if measured else None


def cluster_overview(user: Any) -> list[dict[str, Any]]:
    """Each cluster the subject may see, with each node pool's GPUs: total, allocated, in use
    (where the agent measures utilisation), idle."""
    clusters = list(Cluster.objects.restrict(user, "read").prefetch_related("node_pools", "nodes__gpus"))
    held = allocated_gpus(user)
    instants = latest_instants(FRESH_SECONDS)
    overview = []
    for cluster in clusters:
        devices: dict[int | None, int] = defaultdict(int)
        for node in cluster.nodes.all():
            devices[node.node_pool_id] += len(node.gpus.all())
        busy = devices_in_use(cluster, instants.get(cluster.pk))
        pools = []
        for pool in cluster.node_pools.all():
            total, allocated = devices.get(pool.pk, 0), held.get(("pool", pool.pk), 0.0)
            pools.append({"pool": pool, "total": total, "allocated": allocated, "idle": max(total - allocated, 0),
                          "in_use": None if busy is None else busy.get(pool.pk, 0),
                          "percent": round(100 * allocated / total) if total else 0})  # fmt: skip
        overview.append({"cluster": cluster, "pools": pools, "simulated": cluster.simulated})
    return overview


def charted_units(user: Any) -> list[dict[str, Any]]:
    """The departments and projects whose dashboards ``user`` may read, for their charts over
    time: each department with its projects. A department whose own dashboards are closed to the
    user (a project's researcher) only heads its projects (``charted`` false)."""
    # Reading a department's dashboards takes a rule at or above it, not one on a project below.
    own = scope_filter(user, "read", DASHBOARDS, DepartmentQuerySet.scope_lookups)
    departments = Department.objects.filter(own).select_related("cluster").order_by("cluster__name", "name")
    groups = {d.pk: {"department": d, "charted": True, "projects": []} for d in departments}
    projects = Project.objects.restrict(user, "read", DASHBOARDS).select_related("department__cluster")
    for project in projects.order_by("department__cluster__name", "department__name", "name"):
        group = groups.setdefault(project.department_id, {"department": project.department, "charted": False,
                                                          "projects": []})  # fmt: skip
        group["projects"].append(project)
    return list(groups.values())
