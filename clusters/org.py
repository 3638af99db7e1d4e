"""Departments and projects with their quotas per node pool: creation, change and removal.

Every change runs in one transaction and is checked before anything is stored; an error names
the request field at fault (``resources[0].gpu.deserved``). After the commit, the cluster's agent
receives its queues again.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from accounts.errors import Conflict, Invalid
from accounts.services import rules
from clusters import queues
from clusters.models import Cluster, Department, NodePool, Project, Quota

UNLIMITED = -1.0


@dataclass(frozen=True)
class Share:
    """One resource's quota: deserved (None: no quota set), limit (-1: unlimited), weight."""

    deserved: float | None = 0.0
    limit: float = UNLIMITED
    weight: float = 1.0


@dataclass(frozen=True)
class QuotaInput:
    """A requested quota in one pool; ``field`` is where it sat in the request, for errors."""

    pool: NodePool
    field: str
    gpu: Share = Share()
    cpu: Share = Share(deserved=None)
    memory: Share = Share(deserved=None)


def default_pool(cluster: Cluster) -> NodePool:
    """The cluster's ``default`` node pool, created if missing: it always exists."""
    pool, _ = NodePool.objects.get_or_create(cluster=cluster, name=NodePool.DEFAULT)
    return pool


def _check_shares(quotas: Iterable[QuotaInput]) -> None:
    seen: set[int] = set()
    for quota in quotas:
        if quota.pool.pk in seen:
            raise Invalid(f"{quota.field}.nodePool: node pool {quota.pool.name!r} is given twice.")
        seen.add(quota.pool.pk)
        for kind in ("gpu", "cpu", "memory"):
            share: Share = getattr(quota, kind)
            if share.limit != UNLIMITED and share.deserved is not None and share.limit < share.deserved:
                raise Invalid(
                    f"{quota.field}.{kind}.limit: must be -1 (unlimited) or at least the deserved "
                    f"quota ({share.deserved:g}); it is {share.limit:g}."
                )


def _check_default_pools(cluster: Cluster, names: list[str]) -> None:
    """Each of a project's default node pools must be a pool of its cluster, named once. The
    pools named are locked until the change commits, so none is deleted meanwhile (deleting a
    pool takes it out of every project's list)."""
    locked = NodePool.objects.select_for_update().filter(cluster=cluster, name__in=names)
    known = {*locked.values_list("name", flat=True), NodePool.DEFAULT}
    for index, name in enumerate(names):
        if name not in known:
            raise Invalid(f"defaultNodePools: cluster {cluster.name!r} has no node pool named {name!r}.")
        if name in names[:index]:
            raise Invalid(f"defaultNodePools: node pool {name!r} is named twice.")


def _department_gpus(department: Department) -> dict[int, float]:
    rows = Quota.objects.filter(department=department).values_list("node_pool_id", "gpu_deserved")
    return dict(rows)


def _projects_gpus(department: Department, excluding: Project | None = None) -> dict[int, float]:
    rows = Quota.objects.filter(project__department=department)
    if excluding is not None:
        rows = rows.exclude(project=excluding)
    return dict(rows.values("node_pool_id").annotate(total=Sum("gpu_deserved")).values_list("node_pool_id", "total"))


def _check_project_fits(department: Department, quotas: list[QuotaInput], project: Project | None) -> None:
    """A department's projects may not deserve more GPUs in a pool than the department does,
    unless over-subscription is allowed."""
    if settings.TESSERA_ALLOW_OVERSUBSCRIPTION:
        return
    ceiling, siblings = _department_gpus(department), _projects_gpus(department, project)
    for quota in quotas:
        total = siblings.get(quota.pool.pk, 0.0) + (quota.gpu.deserved or 0.0)
        if total > ceiling.get(quota.pool.pk, 0.0) + 1e-9:
            raise Invalid(
                f"{quota.field}.gpu.deserved: department {department.name!r} deserves "
                f"{ceiling.get(quota.pool.pk, 0.0):g} GPUs in node pool {quota.pool.name!r}; its projects "
                f"would deserve {total:g}."
            )


def _check_department_covers(department: Department, quotas: list[QuotaInput]) -> None:
    """Lowering a department's quota below what its projects already deserve is refused too."""
    if settings.TESSERA_ALLOW_OVERSUBSCRIPTION:
        return
    given = {quota.pool.pk: quota for quota in quotas}
    for pool_id, total in _projects_gpus(department).items():
        quota = given.get(pool_id)
        deserved = (quota.gpu.deserved or 0.0) if quota else 0.0
        if total > deserved + 1e-9:
            field = quota.field if quota else "resources"
            pool = quota.pool.name if quota else NodePool.objects.get(pk=pool_id).name
            raise Invalid(
                f"{field}{'.gpu.deserved' if quota else ''}: the projects of department {department.name!r} "
                f"deserve {total:g} GPUs in node pool {pool!r}; the department cannot deserve less."
            )


def _store_quotas(
    quotas: list[QuotaInput], department: Department | None = None, project: Project | None = None
) -> None:
    """Replace the owner's quotas with the given ones."""
    owner = {"department": department} if department is not None else {"project": project}
    Quota.objects.filter(**owner).delete()
    Quota.objects.bulk_create(
        Quota(
            node_pool=q.pool,
            **owner,
            gpu_deserved=q.gpu.deserved or 0.0,
            gpu_limit=q.gpu.limit,
            gpu_weight=q.gpu.weight,
            cpu_deserved=q.cpu.deserved,
            cpu_limit=q.cpu.limit,
            cpu_weight=q.cpu.weight,
            memory_deserved=q.memory.deserved,
            memory_limit=q.memory.limit,
            memory_weight=q.memory.weight,
        )
        for q in quotas
    )


def _changed(cluster_id: object) -> None:
    transaction.on_commit(lambda: queues.push(cluster_id))


def create_department(cluster: Cluster, name: str, description: str, quotas: list[QuotaInput]) -> Department:
    """Create a department with its quotas; 409 if the cluster has one of that name."""
    _check_shares(quotas)
    try:
        with transaction.atomic():
            department = Department.objects.create(cluster=cluster, name=name, description=description)
            _store_quotas(quotas, department=department)
            _changed(cluster.pk)
    except IntegrityError:
        raise Conflict(f"Cluster {cluster.name!r} already has a department named {name!r}.") from None
    return department


@transaction.atomic
def update_department(department: Department, description: str, quotas: list[QuotaInput]) -> Department:
    """Replace the department's description and quotas."""
    _check_shares(quotas)
    department = Department.objects.select_for_update().get(pk=department.pk)
    _check_department_covers(department, quotas)
    department.description = description
    department.save(update_fields=["description", "updated_at"])
    _store_quotas(quotas, department=department)
    _changed(department.cluster_id)
    return department


@transaction.atomic
def delete_department(department: Department) -> None:
    """Delete an empty department; one that still has projects is refused (409)."""
    if department.projects.exists():
        raise Conflict(f"Department {department.name!r} still has projects; delete or move them first.")
    rules.delete_rules_on({"department": [department.pk]})
    department.delete()
    _changed(department.cluster_id)


def create_project(
    department: Department,
    name: str,
    description: str,
    quotas: list[QuotaInput],
    default_node_pools: Sequence[str] = (),
) -> Project:
    """Create a project in the department's cluster, with its quotas and the node pools its
    workloads use when they name none (in order; none: the default pool)."""
    _check_shares(quotas)
    pools = list(default_node_pools)
    try:
        with transaction.atomic():
            # Lock the department so two projects created at once cannot both squeeze under its quota.
            department = Department.objects.select_for_update().get(pk=department.pk)
            _check_project_fits(department, quotas, None)
            _check_default_pools(department.cluster, pools)
            project = Project.objects.create(
                cluster_id=department.cluster_id,
                department=department,
                name=name,
                description=description,
                default_node_pools=pools,
            )
            _store_quotas(quotas, project=project)
            _changed(department.cluster_id)
    except IntegrityError:
        raise Conflict(f"The cluster already has a project named {name!r}.") from None
    return project


@transaction.atomic
def update_project(
    project: Project, description: str, quotas: list[QuotaInput], default_node_pools: Sequence[str] = ()
) -> Project:
    """Replace the project's description, quotas and default node pools. Workloads submitted
    before keep the pools they were given."""
    _check_shares(quotas)
    department = Department.objects.select_for_update().get(pk=project.department_id)
    _check_project_fits(department, quotas, project)
    pools = list(default_node_pools)
    _check_default_pools(project.cluster, pools)
    project.description = description
    project.default_node_pools = pools
    project.save(update_fields=["description", "default_node_pools", "updated_at"])
    _store_quotas(quotas, project=project)
    _changed(project.cluster_id)
    return project


@transaction.atomic
def delete_project(project: Project) -> None:
    """Delete a project that never ran a workload; its workloads' history keeps the others (409)."""
    if project.workloads.exists():
        raise Conflict(f"Project {project.name!r} has workloads; it cannot be deleted.")
    rules.delete_rules_on({"project": [project.pk]})
    project.delete()
    _changed(project.cluster_id)
