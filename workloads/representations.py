"""Workloads as Run:ai's API shows them; shared by the API, the pages and live updates."""

from typing import Any

from agent.protocol import WorkloadPhase
from controlplane.formats import iso_time
from workloads.models import Workload, WorkloadType

PREEMPTED = "Preempted"
"""How the message of a workload evicted by the scheduler, and so requeued, begins."""


def requested_resources(workload: Workload, pods: int = 1) -> dict[str, Any]:
    """Run:ai's ``podsRequestedResources`` (one pod), or ``workloadRequestedResources`` for all
    ``pods``: whole devices, or devices at a portion or memory; CPU cores and memory where asked."""
    if workload.gpu_memory_mib is not None:
        resources = {
            "gpuRequestType": "memory",
            "gpu": {"request": workload.gpu_devices * pods},
            "gpuMemory": {"request": f"{workload.gpu_memory_mib * pods}Mi"},
        }
    elif workload.gpu_portion is not None:
        resources = {
            "gpuRequestType": "portion",
            "gpu": {"request": workload.gpu_devices * workload.gpu_portion * pods},
            "gpuPortion": {"request": workload.gpu_portion, "limit": workload.gpu_portion_limit},
        }
    else:
        resources = {"gpuRequestType": "portion", "gpu": {"request": workload.gpu_devices * pods}}
    if workload.cpu_milli:
        resources["cpu"] = {"request": workload.cpu_milli * pods / 1000}
    if workload.memory_mib:
        resources["memory"] = {"request": f"{workload.memory_mib * pods}Mi"}
    return resources


def desired_phase(workload: Workload) -> str:
    """Run:ai's ``desiredPhase``: what the control plane wants of the workload."""
    if workload.deleted_at is not None:
        return "Deleted"
    return "Stopped" if workload.suspended_at is not None else "Running"


def _condition(kind: str, status: bool, reason: str, message: str, since: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": iso_time(since),
    }


def conditions(workload: Workload) -> list[dict[str, Any]]:
    """Run:ai's ``conditions``, in the order they come true: submitted; scheduled (or why not:
    the scheduler's pending reason, or the preemption that requeued it); running; and how it
    ended, was suspended or deleted. Read from the workload's own fields, so a list costs no
    query per workload."""
    phase, message, since = workload.phase, workload.phase_message, workload.phase_updated_at or workload.created_at
    pending = phase == WorkloadPhase.PENDING.value
    found = [_condition("Submitted", True, "Submitted", "Workload submitted", workload.created_at)]
    if pending:
        reason = PREEMPTED if message.startswith(PREEMPTED) else "Unschedulable"
        found.append(_condition("Scheduled", False, reason, message, since))
    elif workload.started_at is not None:
        found.append(_condition("Scheduled", True, "Scheduled", workload.node_name, workload.started_at))
    running = phase == WorkloadPhase.RUNNING.value
    if running or workload.started_at is not None:
        found.append(_condition("Running", running, "Running" if running else phase, message, since))
    if phase in (WorkloadPhase.COMPLETED.value, WorkloadPhase.FAILED.value):
        found.append(_condition(phase, True, phase, message, workload.completed_at or since))
    if workload.suspended_at is not None:
        found.append(_condition("Suspended", True, "Suspended", message, workload.suspended_at))
    if workload.deleted_at is not None:
        found.append(_condition("Deleted", True, "Deleted", "Workload deleted", workload.deleted_at))
    return found


def workload_representation(workload: Workload) -> dict[str, Any]:
    """The ``Workload`` object of ``GET /api/v1/workloads``."""
    project = workload.project
    running = workload.phase == "Running"
    distributed = workload.workload_type == WorkloadType.DISTRIBUTED
    return {
        "id": str(workload.id),
        "name": workload.name,
        "type": workload.workload_type,
        "clusterId": str(workload.cluster_id),
        "projectId": str(project.pk),
        "projectName": project.name,
        "departmentId": str(project.department_id),
        "departmentName": project.department.name,
        "namespace": project.namespace,
        "createdAt": iso_time(workload.created_at),
        "updatedAt": iso_time(workload.updated_at),
        "deletedAt": iso_time(workload.deleted_at),
        "submittedBy": workload.submitted_by.username if workload.submitted_by else None,
        "phase": workload.phase,
        "phaseMessage": workload.phase_message,
        "phaseUpdatedAt": iso_time(workload.phase_updated_at),
        "k8sPhase": workload.phase,
        "completedAt": iso_time(workload.completed_at),
        "images": [workload.image] if workload.image else [],
        "command": workload.command,
        "arguments": workload.args,
        "environmentVariables": [{"name": k, "value": v} for k, v in workload.environment.items()],
        "priorityClassName": workload.priority_class,
        "preemptible": workload.preemptible,
        "requestedPods": {"min": workload.workers, "max": workload.workers},
        "runningPods": workload.workers if running else 0,
        "workloadRequestedResources": requested_resources(workload, workload.workers),
        "podsRequestedResources": requested_resources(workload),
        "allocatedResources": {"gpu": len(workload.allocated_gpus) if running else 0},
        "distributedFramework": workload.spec.get("spec", {}).get("distributedFramework") if distributed else None,
        "actionsSupport": {"delete": True, "suspend": WorkloadType(workload.workload_type).suspendable},
        "conditions": conditions(workload),
        "urls": workload.urls,
        "requestedNodePools": workload.node_pools,
        "currentNodePool": workload.node_pool or None,
        "source": "API",
        # Tessera's own additions, which Run:ai clients ignore.
        "desiredPhase": desired_phase(workload),
        "exitCode": workload.exit_code,
        "nodeName": workload.node_name or None,
        "allocatedGpuIds": workload.allocated_gpus,
    }


def typed_representation(workload: Workload) -> dict[str, Any]:
    """The ``Training``, ``Workspace``, ``Inference`` or ``Distributed`` object of its path."""
    typed = {
        "name": workload.name,
        "requestedName": workload.spec.get("requestedName", workload.name),
        "workloadId": str(workload.id),
        "projectId": str(workload.project_id),
        "departmentId": str(workload.project.department_id),
        "clusterId": str(workload.cluster_id),
        "createdBy": workload.submitted_by.username if workload.submitted_by else None,
        "createdAt": iso_time(workload.created_at),
        "deletedAt": iso_time(workload.deleted_at),
        "desiredPhase": desired_phase(workload),
        "actualPhase": workload.phase,
        "spec": workload.spec.get("spec", {}),
    }
    if workload.workload_type == WorkloadType.DISTRIBUTED:
        for name in ("masterSpecSameAsWorker", "masterSpec"):
            if name in workload.spec:
                typed[name] = workload.spec[name]
    return typed
