"""Clusters with their nodes and GPUs, and the organisation tree below them."""

import uuid

from django.db import models

from accounts.gate import RestrictedQuerySet


class ClusterQuerySet(RestrictedQuerySet):
    resource = "cluster"
    scope_lookups = {"cluster": "id"}
    read_lookups = {"department": "departments__id", "project": "projects__id"}


class DepartmentQuerySet(RestrictedQuerySet):
    resource = "department"
    scope_lookups = {"cluster": "cluster_id", "department": "id"}
    read_lookups = {"project": "projects__id"}


class ProjectQuerySet(RestrictedQuerySet):
    resource = "project"
    scope_lookups = {"cluster": "cluster_id", "department": "department_id", "project": "id"}


class NodePoolQuerySet(RestrictedQuerySet):
    resource = "nodepools"
    scope_lookups = {"cluster": "cluster_id"}
    read_lookups = {"department": "cluster__departments__id", "project": "cluster__projects__id"}


class NodeQuerySet(RestrictedQuerySet):
    resource = "nodes"
    scope_lookups = {"cluster": "cluster_id"}
    read_lookups = {"department": "cluster__departments__id", "project": "cluster__projects__id"}


class ClusterState(models.TextChoices):
    WAITING_TO_CONNECT = "WaitingToConnect"
    CONNECTED = "Connected"
    DISCONNECTED = "Disconnected"


class Cluster(models.Model):
    """A set of nodes run by one agent. The agent proves itself with ``token`` (stored hashed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=63, unique=True)
    token_hash = models.CharField(max_length=64, editable=False)
    state = models.CharField(max_length=20, choices=ClusterState.choices, default=ClusterState.WAITING_TO_CONNECT)
    agent_version = models.CharField(max_length=40, blank=True)
    # The channel of the agent's current connection: a late disconnect of an older one must not
    # mark a reconnected cluster offline.
    agent_channel = models.CharField(max_length=200, blank=True, editable=False)
    last_seen = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def simulated(self) -> bool:
        """True when the agent declared simulated devices on any of its nodes (NVML found no GPU)."""
        return any(node.simulated for node in self.nodes.all())


class NodeStatus(models.TextChoices):
    READY = "Ready"
    NOT_READY = "NotReady"


class Node(models.Model):
    """A machine in a cluster, as its agent last reported it."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="nodes")
    name = models.CharField(max_length=253)
    status = models.CharField(max_length=20, choices=NodeStatus.choices, default=NodeStatus.READY)
    simulated = models.BooleanField(default=False, help_text="The agent declared simulated devices.")
    driver_version = models.CharField(max_length=40, blank=True)
    cuda_version = models.CharField(max_length=40, blank=True)
    labels = models.JSONField(default=dict, blank=True, help_text="The node's labels, as its agent reports them.")
    # Kept in step with the pools' selectors by ``clusters.pools.assign_nodes``.
    node_pool = models.ForeignKey("NodePool", on_delete=models.SET_NULL, null=True, blank=True, related_name="nodes")
    last_seen = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, null=True)
    mps = models.BooleanField(default=False, help_text="The node runs NVIDIA MPS for GPU fractions.")
    cpu_milli = models.PositiveIntegerField(null=True, blank=True, help_text="CPU millicores, as its agent reports.")
    memory_mib = models.PositiveIntegerField(null=True, blank=True, help_text="Memory (MiB), as its agent reports.")
    # An administrator's cordon: nothing new is placed here; draining also stops what runs here.
    cordoned = models.BooleanField(default=False)
    draining = models.BooleanField(default=False)

    objects = NodeQuerySet.as_manager()

    class Meta:
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="node_unique_in_cluster")]

    def __str__(self) -> str:
        return self.name


class Gpu(models.Model):
    """One GPU device on a node."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="gpus")
    index = models.PositiveIntegerField()
    uuid = models.CharField(max_length=100)
    model = models.CharField(max_length=100)
    memory_mib = models.PositiveIntegerField()
    simulated = models.BooleanField(default=False)
    mig_mode = models.BooleanField(null=True, blank=True, help_text="MIG enabled; null where not supported.")
    healthy = models.BooleanField(default=True, help_text="False once the agent saw an NVML fault.")
    health_message = models.CharField(max_length=500, blank=True)
    cordoned = models.BooleanField(default=False)
    draining = models.BooleanField(default=False)

    class Meta:
        ordering = ["node", "index"]
        constraints = [models.UniqueConstraint(fields=["node", "index"], name="gpu_unique_index_on_node")]

    def __str__(self) -> str:
        return f"{self.node.name}/{self.index}"


class PlacementStrategy(models.TextChoices):
    BINPACK = "binpack"
    SPREAD = "spread"


class GpuComputeMode(models.TextChoices):
    """How GPU fractions on a pool's MPS nodes share a device's compute."""

    FAIR = "fair"  # time-sliced: a fraction may use compute its neighbours leave idle
    STRICT = "strict"  # each fraction's SMs capped at its portion (CUDA_MPS_ACTIVE_THREAD_PERCENTAGE)


class NodePool(models.Model):
    """A set of a cluster's nodes, chosen by a node label (or, for ``default``, every node no
    other pool takes). Quotas are given per pool; each pool places work by its strategy."""

    DEFAULT = "default"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="node_pools")
    name = models.CharField(max_length=63)
    label_key = models.CharField(max_length=253, blank=True)
    label_value = models.CharField(max_length=63, blank=True)
    gpu_placement = models.CharField(
        max_length=10, choices=PlacementStrategy.choices, default=PlacementStrategy.BINPACK
    )
    cpu_placement = models.CharField(
        max_length=10, choices=PlacementStrategy.choices, default=PlacementStrategy.BINPACK
    )
    gpu_compute_mode = models.CharField(max_length=10, choices=GpuComputeMode.choices, default=GpuComputeMode.FAIR)
    created_by = models.CharField(max_length=254, blank=True)
    updated_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NodePoolQuerySet.as_manager()

    class Meta:
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="node_pool_unique_in_cluster")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return self.name == self.DEFAULT


class Department(models.Model):
    """A group of projects in one cluster, with quotas of its own per node pool."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="departments")
    name = models.CharField(max_length=63)
    description = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="department_unique_in_cluster")]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """Where workloads live. On Kubernetes, one namespace per project."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="projects")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=63)
    description = models.CharField(max_length=500, blank=True)
    default_node_pools = models.JSONField(
        default=list,
        blank=True,
        help_text="Names of the node pools a workload that names none may use, in order; empty: the default pool.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["cluster", "name"]
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="project_unique_in_cluster")]

    def __str__(self) -> str:
        return self.name

    @property
    def namespace(self) -> str:
        return f"runai-{self.name}"

    @property
    def node_pools_by_default(self) -> list[str]:
        """The node pools a workload that names none is given, in order."""
        return list(self.default_node_pools) or [NodePool.DEFAULT]


class Quota(models.Model):
    """A department's or a project's quotas in one node pool (exactly one of the two is set).

    GPUs are in devices (fractions allowed), CPU in millicores, memory in MiB. A limit of -1 is
    unlimited; a CPU or memory deserved of ``None`` means no quota on that resource."""

    node_pool = models.ForeignKey(NodePool, on_delete=models.CASCADE, related_name="quotas")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, null=True, related_name="quotas")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, related_name="quotas")
    gpu_deserved = models.FloatField(default=0)
    gpu_limit = models.FloatField(default=-1)
    gpu_weight = models.FloatField(default=1)
    cpu_deserved = models.FloatField(null=True)
    cpu_limit = models.FloatField(default=-1)
    cpu_weight = models.FloatField(default=1)
    memory_deserved = models.FloatField(null=True)
    memory_limit = models.FloatField(default=-1)
    memory_weight = models.FloatField(default=1)

    class Meta:
        ordering = ["node_pool__name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department__isnull=True) ^ models.Q(project__isnull=True), name="quota_one_owner"
            ),
            models.UniqueConstraint(fields=["node_pool", "department"], name="quota_once_per_department_pool"),
            models.UniqueConstraint(fields=["node_pool", "project"], name="quota_once_per_project_pool"),
        ]

    def __str__(self) -> str:
        return f"{self.department or self.project}@{self.node_pool}"


class QueueStatus(models.Model):
    """What the cluster's scheduler last made of a department or a project in one node pool
    (exactly one of the two is set), as its agent reported it: the fair share it computed by
    water-filling and the GPUs held, in devices (fractions allowed). Replaced on every report."""

    node_pool = models.ForeignKey(NodePool, on_delete=models.CASCADE, related_name="queue_statuses")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, null=True, related_name="queue_statuses")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, related_name="queue_statuses")
    fair_share = models.FloatField()
    allocated = models.FloatField()
    over_quota = models.BooleanField(help_text="It holds more than its deserved quota in the pool.")
    reported_at = models.DateTimeField()

    class Meta:
        ordering = ["node_pool__name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department__isnull=True) ^ models.Q(project__isnull=True),
                name="queue_status_one_owner",
            ),
            models.UniqueConstraint(fields=["node_pool", "department"], name="queue_status_once_per_department_pool"),
            models.UniqueConstraint(fields=["node_pool", "project"], name="queue_status_once_per_project_pool"),
        ]

    def __str__(self) -> str:
        return f"{self.department or self.project}@{self.node_pool}: fair share {self.fair_share:g}"
