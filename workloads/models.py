"""Workloads and what happens to them: their phase, events and output."""

import uuid

from django.conf import settings
from django.db import models

from accounts.gate import RestrictedQuerySet
from agent.protocol import WorkloadPhase
from clusters.models import Cluster, NodePool, Project


class WorkloadType(models.TextChoices):
    TRAINING = "Training"
    WORKSPACE = "Workspace"
    INFERENCE = "Inference"
    DISTRIBUTED = "Distributed"

    @property
    def suspendable(self) -> bool:
        """Whether Run:ai lets a workload of this type be suspended and resumed (not inferences)."""
        return self is not WorkloadType.INFERENCE


PHASE_CHOICES = [(phase.value, phase.value) for phase in WorkloadPhase]
TERMINAL_PHASES = [phase.value for phase in WorkloadPhase if phase.is_terminal]


LIVE = models.Q(deleted_at__isnull=True)


class WorkloadQuerySet(RestrictedQuerySet):
    resource = "workloads"
    scope_lookups = {"cluster": "cluster_id", "department": "project__department_id", "project": "project_id"}

    def live(self) -> "WorkloadQuerySet":
        """Workloads not deleted, with what their representation reads."""
        return self.filter(LIVE).select_related("project__department", "submitted_by")


def only_the_default_pool() -> list[str]:
    return [NodePool.DEFAULT]


class Workload(models.Model):
    """A unit of work submitted to a project. Its spec is desired state; the phase is what the
    cluster's agent last reported."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=63)
    workload_type = models.CharField(max_length=20, choices=WorkloadType.choices, default=WorkloadType.TRAINING)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="workloads")
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="workloads")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What to run: the request as the client sent it, and the parts the agent acts on.
    spec = models.JSONField(default=dict)
    image = models.CharField(max_length=500, blank=True)
    command = models.TextField(blank=True)
    args = models.TextField(blank=True)
    environment = models.JSONField(default=dict)
    gpu_devices = models.PositiveIntegerField(default=0)
    # GPU fractions: each of ``gpu_devices`` devices shared at a portion, or by memory (MiB).
    gpu_portion = models.FloatField(null=True, blank=True)
    gpu_portion_limit = models.FloatField(null=True, blank=True)
    gpu_memory_mib = models.PositiveIntegerField(null=True, blank=True)
    priority_class = models.CharField(max_length=40, default="train")
    priority = models.IntegerField(default=50)
    preemptible = models.BooleanField(default=True)
    # A distributed training runs ``workers`` processes, each with the compute request above.
    workers = models.PositiveIntegerField(default=1)
    # Suspended: not desired on the cluster until resumed. Each resumption starts a new run, which
    # the agent knows under its own id (see ``agent_id``), so nothing of an earlier run is mistaken
    # for it; ``log_base`` is where the run's output starts in the stored streams.
    suspended_at = models.DateTimeField(null=True, blank=True)
    run = models.PositiveIntegerField(default=0)
    log_base = models.JSONField(default=dict)
    # What the agent reported.
    phase = models.CharField(max_length=20, choices=PHASE_CHOICES, default=WorkloadPhase.PENDING.value)
    phase_message = models.TextField(blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    node_name = models.CharField(max_length=253, blank=True)
    allocated_gpus = models.JSONField(default=list)
    urls = models.JSONField(default=list, blank=True, help_text="Where its tools answer while it runs.")
    node_pool = models.CharField(max_length=63, blank=True, help_text="The pool of the node it runs on.")
    cpu_milli = models.PositiveIntegerField(null=True, blank=True, help_text="CPU millicores each pod needs.")
    memory_mib = models.PositiveIntegerField(null=True, blank=True, help_text="Memory (MiB) each pod needs.")
    node_pools = models.JSONField(
        default=only_the_default_pool,
        help_text="The node pools it may use, in order: its request's nodePools, else its project's "
        "default node pools when it was submitted.",
    )
    log_bytes = models.JSONField(default=dict, help_text="Bytes stored per stream, for resuming log shipping.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    phase_updated_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = WorkloadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"],
                condition=LIVE,
                name="workload_name_unique_in_project",
            )
        ]
        # Lists show live workloads newest first, narrowed by the filters callers use most; with
        # these a page is an index range scan however many workloads are stored.
        indexes = [
            models.Index(fields=[*prefix, "-created_at", "id"], condition=LIVE, name=f"workload_live_{name}")
            for name, prefix in (("created", []), ("phase", ["phase"]), ("type", ["workload_type"]),
                                 ("project", ["project"]), ("cluster", ["cluster"]))
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.name

    @property
    def is_finished(self) -> bool:
        return self.phase in TERMINAL_PHASES

    @property
    def agent_id(self) -> str:
        """The id the agent knows the current run by: the workload's id, then ``<id>.<run>``."""
        return str(self.id) if self.run == 0 else f"{self.id}.{self.run}"


class WorkloadEvent(models.Model):
    """Something that happened to a workload, for its history."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=60)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]


class LogStream(models.TextChoices):
    STDOUT = "stdout"
    STDERR = "stderr"


class WorkloadLogChunk(models.Model):
    """A piece of a workload's output; ``offset`` is its byte position in the stream."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="log_chunks")
    stream = models.CharField(max_length=6, choices=LogStream.choices)
    offset = models.PositiveBigIntegerField()
    size = models.PositiveIntegerField()
    data = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workload", "stream", "offset"]
        constraints = [models.UniqueConstraint(fields=["workload", "stream", "offset"], name="log_chunk_unique_offset")]
