"""Domain operations on workloads: submission, deletion, and what the agent reports back."""

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import Conflict
from agent.protocol import LogChunkMessage, ToolPort, WorkloadPhase, WorkloadSpec, WorkloadStatus
from clusters.models import Cluster, Node, Project
from workloads import notify
from workloads.models import TERMINAL_PHASES, Workload, WorkloadEvent, WorkloadLogChunk
from workloads.representations import PREEMPTED, workload_representation

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
    workers: int = 1
    node_pools: list[str] = field(default_factory=list)
    """The node pools the request names, in order; none: its project's default node pools."""
    cpu_milli: int | None = None
    memory_mib: int | None = None


def tool_ports(workload: Workload) -> list[ToolPort]:
    """The container ports of the tools the request exposes (``exposedUrls`` and ``ports``),
    each once, in the order given."""
    spec = workload.spec.get("spec", {})
    found: dict[int, ToolPort] = {}
    for entry in [*(spec.get("exposedUrls") or []), *(spec.get("ports") or [])]:
        port = ToolPort(container=entry["container"], tool_type=entry.get("toolType"), tool_name=entry.get("toolName"))
        found.setdefault(port.container, port)
    return list(found.values())


def workload_spec(workload: Workload) -> WorkloadSpec:
    """What the agent needs to know to run the workload."""
    return WorkloadSpec(
        id=workload.agent_id,
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
        workers=workload.workers,
        node_pools=workload.node_pools,
        tool_ports=tool_ports(workload) or None,
        cpu_milli=workload.cpu_milli,
        memory_mib=workload.memory_mib,
    )


# Why a workload waits when the cluster's agent lacks a feature it needs. The control plane holds
# such a workload back rather than let an agent run it without what it asked for.
WAITING_FOR_FEATURE = {
    "gpu_fractions": "waiting for an agent that runs GPU fractions; this cluster's agent runs whole GPUs only",
    "workload_types": "waiting for an agent that runs workspaces and inferences; this cluster's agent is older",
    "distributed": "waiting for an agent that runs distributed trainings; this cluster's agent runs single processes",
}


# Optional spec fields an agent refuses unless it declared the feature; one without it runs the
# workload on any node and exposes nothing, which is what it did before the field existed.
OPTIONAL_FEATURES = {
    "node_pools": "node_pools",
    "tool_ports": "tool_ports",
    "cpu_milli": "cpu_requests",
    "memory_mib": "cpu_requests",
}


def sendable(specs: list[WorkloadSpec], features: set[str]) -> list[WorkloadSpec]:
    """The specs an agent with ``features`` can run as asked."""
    return [spec for spec in specs if spec.needs() <= features]


def as_understood(specs: list[WorkloadSpec], features: set[str]) -> list[WorkloadSpec]:
    """The specs an agent with ``features`` can run, without the optional fields it does not know."""
    unknown = {name: None for name, feature in OPTIONAL_FEATURES.items() if feature not in features}
    return [spec.model_copy(update=unknown) if unknown else spec for spec in sendable(specs, features)]


def waiting_reason(spec: WorkloadSpec) -> str:
    """What a Pending workload waits for until the agent says (the agent may lack what it needs)."""
    needs = spec.needs()
    for feature in ("distributed", "gpu_fractions"):
        if feature in needs:
            return WAITING_FOR_FEATURE[feature]
    return "waiting for the cluster's agent"


def submit_training(request: TrainingRequest, submitted_by: AbstractBaseUser | None) -> Workload:
    """Store the workload as Pending and tell the cluster's agent once it is committed."""
    try:
        with transaction.atomic():
            workload = Workload(
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
                workers=request.workers,
                node_pools=request.node_pools or request.project.node_pools_by_default,
                cpu_milli=request.cpu_milli,
                memory_mib=request.memory_mib,
                phase=WorkloadPhase.PENDING.value,
                phase_updated_at=timezone.now(),
                created_at=timezone.now(),  # for the spec the reason is read from; saving sets it again
            )
            workload.phase_message = waiting_reason(workload_spec(workload))
            workload.save(force_insert=True)
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
        _push_removal(workload)


def _push_removal(workload: Workload) -> None:
    """Once committed, tell the cluster's agent that the workload's current run is not wanted."""
    agent_id, cluster_id = workload.agent_id, workload.cluster_id
    transaction.on_commit(lambda: notify.push_desired_delta(cluster_id, [], [agent_id]))


def _locked(workload: Workload) -> Workload:
    return Workload.objects.select_for_update().select_related("project__department").get(pk=workload.pk)


def suspend_workload(workload: Workload) -> Workload:
    """Take a pending or running workload off the cluster, keeping it to be resumed: Stopping
    until the agent reports it stopped (at once Stopped when it was not running)."""
    with transaction.atomic():
        workload = _locked(workload)
        if workload.suspended_at is not None:
            raise Conflict(f"Workload {workload.name!r} is already suspended.")
        if workload.is_finished:
            raise Conflict(
                f"Workload {workload.name!r} has {workload.phase.lower()}; "
                "only a pending or running workload can be suspended."
            )
        now = timezone.now()
        running = workload.phase != WorkloadPhase.PENDING.value
        workload.suspended_at = now
        workload.phase = (WorkloadPhase.STOPPING if running else WorkloadPhase.STOPPED).value
        workload.phase_message = "suspending: the agent stops it" if running else "suspended"
        workload.phase_updated_at = now
        workload.save()
        WorkloadEvent.objects.create(workload=workload, reason="Suspended", message="Workload suspended")
        _push_removal(workload)
        _broadcast(workload)
    return workload


def resume_workload(workload: Workload) -> Workload:
    """Put a suspended workload back into the cluster's desired state as a new run, Pending."""
    with transaction.atomic():
        workload = _locked(workload)
        if workload.suspended_at is None:
            raise Conflict(f"Workload {workload.name!r} is not suspended; only a suspended workload can be resumed.")
        workload.suspended_at = None
        workload.run += 1
        workload.log_base = dict(workload.log_bytes)  # the new run's output follows the old one's
        workload.phase = WorkloadPhase.PENDING.value
        workload.phase_updated_at = timezone.now()
        workload.exit_code, workload.node_name, workload.allocated_gpus, workload.urls = None, "", [], []
        workload.node_pool = ""
        workload.completed_at = None
        spec = workload_spec(workload)
        workload.phase_message = waiting_reason(spec)
        workload.save()
        WorkloadEvent.objects.create(workload=workload, reason="Resumed", message="Workload resumed")
        cluster_id = workload.cluster_id
        transaction.on_commit(lambda: notify.push_desired_delta(cluster_id, [spec], []))
        _broadcast(workload)
    return workload


def _broadcast(workload: Workload) -> None:
    representation = workload_representation(workload)
    transaction.on_commit(lambda: notify.broadcast_workload(representation))


def desired_specs(cluster: Cluster) -> list[WorkloadSpec]:
    """The cluster's full desired state: every workload that should be running there."""
    workloads = (
        Workload.objects.filter(cluster=cluster, deleted_at__isnull=True, suspended_at__isnull=True)
        .exclude(phase__in=TERMINAL_PHASES)
        .select_related("project")
        .order_by("created_at")
    )
    return [workload_spec(w) for w in workloads]


def log_offsets(cluster: Cluster) -> dict[str, dict[str, int]]:
    """Bytes stored per stream of each workload's current run, so the agent resumes log shipping
    where we are and never sends a line twice."""
    workloads = Workload.objects.filter(cluster=cluster).exclude(log_bytes={})
    workloads = workloads.only("id", "run", "log_bytes", "log_base")
    return {
        w.agent_id: {stream: size - int(w.log_base.get(stream, 0)) for stream, size in w.log_bytes.items()}
        for w in workloads
    }


def _find(cluster: Cluster, agent_id: str) -> Workload | None:
    """The workload whose current run the agent calls ``agent_id`` (``<id>`` or ``<id>.<run>``);
    None for an unknown id or an earlier run, whose news no longer matters."""
    workload_id, _, run = agent_id.partition(".")
    try:
        key, run_number = uuid.UUID(workload_id), int(run or 0)
    except ValueError:
        return None
    workload = Workload.objects.select_for_update().filter(pk=key, cluster=cluster).first()
    if workload is not None and workload.run != run_number:
        log.info("ignoring news of run %d of workload %s, now at run %d", run_number, key, workload.run)
        return None
    return workload


def _event_reason(phase: str, status: WorkloadStatus) -> str:
    """The reason of the event a phase change records. Evicted by the agent's scheduler, a running
    workload is Stopping, then Pending again (or Pending at once), each with a message beginning
    "Preempted": it is requeued, to run again once placed, never ended."""
    if not status.message.startswith(PREEMPTED):
        return status.phase.value
    if status.phase is WorkloadPhase.STOPPING or (status.phase is WorkloadPhase.PENDING and phase == "Running"):
        return PREEMPTED
    return "Requeued" if status.phase is WorkloadPhase.PENDING else status.phase.value


def _suspended_outcome(workload: Workload, status: WorkloadStatus) -> WorkloadStatus | None:
    """What a report means for a suspended workload: the agent may still tell of it running
    before it has taken the removal in (ignored, None); pending there is not running, so it is
    Stopped; an end of its own (Completed, Failed) is its outcome and ends the suspension."""
    if status.phase in (WorkloadPhase.RUNNING, WorkloadPhase.STOPPING):
        return None
    if status.phase is WorkloadPhase.PENDING:
        return status.model_copy(update={"phase": WorkloadPhase.STOPPED, "message": "suspended"})
    if status.phase is not WorkloadPhase.STOPPED:
        workload.suspended_at = None
    return status


def _pool_of(cluster: Cluster, node: str | None) -> str:
    """The pool the cluster's node is in now ("" for a node we do not know)."""
    if not node:
        return ""
    pool = Node.objects.filter(cluster=cluster, name=node).values_list("node_pool__name", flat=True).first()
    return pool or ""


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
        if workload.suspended_at is not None:
            status = _suspended_outcome(workload, status)
            if status is None:
                return False
        pending = status.phase is WorkloadPhase.PENDING
        changes = {
            "phase": status.phase.value,
            "phase_message": status.message,
            "exit_code": status.exit_code,
            # A pending workload holds nothing, whatever an agent sent along.
            "node_name": "" if pending else status.node or "",
            "allocated_gpus": [] if pending else status.gpus,
            "node_pool": "" if pending else _pool_of(cluster, status.node),
            # Its tools answer only while it runs.
            "urls": (status.urls or []) if status.phase is WorkloadPhase.RUNNING else [],
        }
        if all(getattr(workload, name) == value for name, value in changes.items()):
            return False
        phase_changed = workload.phase != status.phase.value
        reason = _event_reason(workload.phase, status)
        for name, value in changes.items():
            setattr(workload, name, value)
        now = timezone.now()
        if phase_changed:
            workload.phase_updated_at = now
            WorkloadEvent.objects.create(workload=workload, reason=reason, message=status.message or status.phase.value)
        if status.phase is WorkloadPhase.RUNNING and workload.started_at is None:
            workload.started_at = status.started_at or now
        if status.phase.is_terminal and workload.completed_at is None and workload.suspended_at is None:
            workload.completed_at = status.finished_at or now
        workload.save()
        _broadcast(workload)
        if phase_changed and status.phase.is_terminal:
            _push_removal(workload)  # no longer desired: the agent may now forget its record of it
    return True


def append_log(cluster: Cluster, chunk: LogChunkMessage) -> bool:
    """Store a piece of output once. Returns False for a chunk already stored or one that
    would leave a gap (the agent resends from our offsets when it reconnects)."""
    with transaction.atomic():
        workload = _find(cluster, chunk.workload_id)
        if workload is None:
            return False
        have = int(workload.log_bytes.get(chunk.stream, 0))
        # The run's offsets count from where its output starts in the stored stream.
        position = int(workload.log_base.get(chunk.stream, 0)) + chunk.offset
        if position != have:
            if position > have:
                log.warning("gap in %s of %s: have %d bytes, got offset %d", chunk.stream, workload.id, have, position)
            return False
        WorkloadLogChunk.objects.create(
            workload=workload, stream=chunk.stream, offset=position, size=chunk.size, data=chunk.data
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
