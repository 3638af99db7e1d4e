"""Domain operations on workloads: submission, deletion, and what the agent reports back."""

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from agent.protocol import LogChunkMessage, WorkloadPhase, WorkloadSpec, WorkloadStatus
from clusters.models import Cluster, Project
from workloads import notify
from workloads.models import TERMINAL_PHASES, Workload, WorkloadEvent, WorkloadLogChunk
from workloads.representations import workload_representation

log = logging.getLogger(__name__)


class WorkloadConflict(Exception):
    """A workload with that name already exists in the project."""


@dataclass(frozen=True)
class TrainingRequest:
    """A validated request to run a training."""

    name: str
    project: Project
    raw: dict[str, Any]
    image: str = ""
    command: str = ""
    args: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    gpu_devices: int = 0
    gpu_portion: float | None = None
    gpu_portion_limit: float | None = None
    gpu_memory_mib: int | None = None
    priority_class: str = "train"
    priority: int = 50
    preemptible: bool = True
    workload_type: str = "Training"


def workload_spec(workload: Workload) -> WorkloadSpec:
    """What the agent needs to know to run the workload."""
    return WorkloadSpec(
        id=str(workload.id),
        name=workload.name,
        project=workload.project.name,
        workload_type=workload.workload_type.lower(),
        image=workload.image,
        command=workload.command,
        args=workload.args,
        env=workload.environment,
        gpu_devices=workload.gpu_devices,
        gpu_portion=workload.gpu_portion,
        gpu_portion_limit=workload.gpu_portion_limit,
        gpu_memory_mib=workload.gpu_memory_mib,
        priority=workload.priority,
        priority_class=workload.priority_class,
        preemptible=workload.preemptible,
        submitted_at=workload.created_at,
    )


# Why a workload waits when the cluster's agent lacks a feature it needs. The control plane holds
# such a workload back rather than let an agent run it without what it asked for.
WAITING_FOR_FEATURE = {
    "gpu_fractions": "waiting for an agent that runs GPU fractions; this cluster's agent runs whole GPUs only",
    "workload_types": "waiting for an agent that runs workspaces and inferences; this cluster's agent is older",
}


def sendable(specs: list[WorkloadSpec], features: set[str]) -> list[WorkloadSpec]:
    """The specs an agent with ``features`` can run as asked."""
    return [spec for spec in specs if spec.needs() <= features]


def _waiting_reason(request: TrainingRequest) -> str:
    if request.gpu_portion is not None or request.gpu_memory_mib is not None:
        return WAITING_FOR_FEATURE["gpu_fractions"]
    return "waiting for the cluster's agent"


def submit_training(request: TrainingRequest, submitted_by: AbstractBaseUser | None) -> Workload:
    """Store the training as Pending and tell the cluster's agent once it is committed."""
    try:
        with transaction.atomic():
            workload = Workload.objects.create(
                name=request.name,
                workload_type=request.workload_type,
                project=request.project,
                cluster=request.project.cluster,
                submitted_by=submitted_by,
                spec=request.raw,
                image=request.image,
                command=request.command,
                args=request.args,
                environment=request.environment,
                gpu_devices=request.gpu_devices,
                gpu_portion=request.gpu_portion,
                gpu_portion_limit=request.gpu_portion_limit,
                gpu_memory_mib=request.gpu_memory_mib,
                priority_class=request.priority_class,
                priority=request.priority,
                preemptible=request.preemptible,
                phase=WorkloadPhase.PENDING.value,
                phase_message=_waiting_reason(request),
                phase_updated_at=timezone.now(),
            )
            WorkloadEvent.objects.create(workload=workload, reason="Submitted", message="Workload submitted")
            spec = workload_spec(workload)
            representation = workload_representation(workload)
            transaction.on_commit(lambda: notify.push_desired_delta(workload.cluster_id, [spec], []))
            transaction.on_commit(lambda: notify.broadcast_workload(representation))
    except IntegrityError:
        raise WorkloadConflict(f"a workload named {request.name!r} already exists in project {request.project.name!r}")
    return workload


def delete_workload(workload: Workload) -> None:
    """Delete a workload: the agent stops it if it still runs; it leaves every list."""
    with transaction.atomic():
        workload.deleted_at = timezone.now()
        workload.save(update_fields=["deleted_at", "updated_at"])
        WorkloadEvent.objects.create(workload=workload, reason="Deleted", message="Workload deleted")
        workload_id, cluster_id = str(workload.id), workload.cluster_id
        transaction.on_commit(lambda: notify.push_desired_delta(cluster_id, [], [workload_id]))


def desired_specs(cluster: Cluster) -> list[WorkloadSpec]:
    """The cluster's full desired state: every workload that should be running there."""
    workloads = (
        Workload.objects.filter(cluster=cluster, deleted_at__isnull=True)
        .exclude(phase__in=TERMINAL_PHASES)
        .select_related("project")
        .order_by("created_at")
    )
    return [workload_spec(w) for w in workloads]


def log_offsets(cluster: Cluster) -> dict[str, dict[str, int]]:
    """Bytes stored per stream for the cluster's workloads, so the agent resumes log shipping
    where we are and never sends a line twice."""
    rows = Workload.objects.filter(cluster=cluster).exclude(log_bytes={}).values_list("id", "log_bytes")
    return {str(workload_id): offsets for workload_id, offsets in rows}


def _find(cluster: Cluster, workload_id: str) -> Workload | None:
    try:
        key = uuid.UUID(workload_id)
    except ValueError:
        return None
    return Workload.objects.select_for_update().filter(pk=key, cluster=cluster).first()


def apply_status(cluster: Cluster, status: WorkloadStatus) -> bool:
    """Record what the agent reports about a workload. Idempotent; a finished workload never goes
    back to an earlier phase. Returns whether anything changed."""
    with transaction.atomic():
        workload = _find(cluster, status.workload_id)
        if workload is None:
            log.warning("cluster %s reported unknown workload %s", cluster.name, status.workload_id)
            return False
        if workload.is_finished and status.phase.value != workload.phase:
            log.info("ignoring %s for finished workload %s", status.phase.value, workload.id)
            return False
        changes = {
            "phase": status.phase.value,
            "phase_message": status.message,
            "exit_code": status.exit_code,
            "node_name": status.node or "",
            "allocated_gpus": status.gpus,
        }
        if all(getattr(workload, name) == value for name, value in changes.items()):
            return False
        phase_changed = workload.phase != status.phase.value
        for name, value in changes.items():
            setattr(workload, name, value)
        now = timezone.now()
        if phase_changed:
            workload.phase_updated_at = now
            WorkloadEvent.objects.create(
                workload=workload, reason=status.phase.value, message=status.message or status.phase.value
            )
        if status.phase is WorkloadPhase.RUNNING and workload.started_at is None:
            workload.started_at = status.started_at or now
        if status.phase.is_terminal and workload.completed_at is None:
            workload.completed_at = status.finished_at or now
        workload.save()
        representation = workload_representation(workload)
        transaction.on_commit(lambda: notify.broadcast_workload(representation))
        if phase_changed and status.phase.is_terminal:
            # No longer desired: the agent may now forget its record of the workload.
            workload_id, cluster_id = str(workload.id), workload.cluster_id
            transaction.on_commit(lambda: notify.push_desired_delta(cluster_id, [], [workload_id]))
    return True


def append_log(cluster: Cluster, chunk: LogChunkMessage) -> bool:
    """Store a piece of output once. Returns False for a chunk already stored or one that
    would leave a gap (the agent resends from our offsets when it reconnects)."""
    with transaction.atomic():
        workload = _find(cluster, chunk.workload_id)
        if workload is None:
            return False
        have = int(workload.log_bytes.get(chunk.stream, 0))
        if chunk.offset != have:
            if chunk.offset > have:
                log.warning(
                    "gap in %s of %s: have %d bytes, got offset %d", chunk.stream, workload.id, have, chunk.offset
                )
            return False
        WorkloadLogChunk.objects.create(
            workload=workload, stream=chunk.stream, offset=chunk.offset, size=chunk.size, data=chunk.data
        )
        workload.log_bytes = {**workload.log_bytes, chunk.stream: have + chunk.size}
        workload.save(update_fields=["log_bytes", "updated_at"])
    return True


def read_logs(workload: Workload, stream: str | None = None) -> str:
    """The workload's stored output, in order; both streams unless one is named."""
    chunks = workload.log_chunks.order_by("received_at", "id")
    if stream:
        chunks = chunks.filter(stream=stream)
    return "".join(chunks.values_list("data", flat=True))
