"""Pages of the workbench and the overview. They read through the same gate, services and
representations as the API, and change nothing the API's rules would refuse."""

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.access import may, require
from accounts.errors import Conflict
from clusters.api.representations import ORG_PREFETCH, project_representation
from clusters.models import Cluster, Project
from frontend.forms import attempt, page, request_body
from frontend.permissions import WORKLOAD_RESOURCES, may_anywhere, submittable_projects
from frontend.usage import allocated_gpus, charted_units, cluster_overview
from workloads import services
from workloads.api.urls import DISTRIBUTED, TYPES
from workloads.models import Workload, WorkloadType
from workloads.representations import workload_representation

# Each kind of submission by its path in the API: (its resource in the access rules, its request).
# A distributed training is a training in the rules, as in Run:ai.
KINDS = {collection: (collection, serializer) for collection, _, serializer in TYPES} | {
    DISTRIBUTED[0]: (DISTRIBUTED[1], DISTRIBUTED[3])
}
RESOURCE_OF_TYPE = {workload_type: collection for collection, workload_type, _ in TYPES} | {
    DISTRIBUTED[2]: DISTRIBUTED[1]
}
KIND_LABELS = {"trainings": "Training", "distributed": "Distributed training", "workspaces": "Workspace",
               "inferences": "Inference"}  # fmt: skip
SUBMIT_FIELDS = [
    "_type", "name", "projectId", "spec.image", "spec.command", "spec.args", "spec.numWorkers",
    "spec.compute.gpuDevicesRequest", "_gpuFraction", "spec.compute.gpuPortionRequest",
    "spec.compute.gpuMemoryRequest", "spec.compute.cpuCoreRequest", "spec.compute.cpuMemoryRequest",
    "spec.priorityClass",
]  # fmt: skip
# Each change of a workload's lifecycle: the service that makes it, and how a person says it.
LIFECYCLE = {"suspend": (services.suspend_workload, "suspended"), "resume": (services.resume_workload, "resumed")}


def home(request: HttpRequest) -> HttpResponse:
    return redirect("overview")


@login_required
@page
def overview(request: HttpRequest) -> HttpResponse:
    pending = (
        Workload.objects.restrict(request.user, "read")
        .live()
        .filter(phase="Pending")
        .select_related("project", "cluster")
        .order_by("-priority", "created_at")[:100]
    )
    context = {"clusters": cluster_overview(request.user), "pending": pending, "units": charted_units(request.user)}
    return render(request, "frontend/overview.html", context)


@login_required
@page
def workload_list(request: HttpRequest) -> HttpResponse:
    live = Workload.objects.restrict(request.user, "read").live().select_related("project__department")
    mine = request.GET.get("mine") == "1"
    if mine:
        live = live.filter(submitted_by=request.user)
    workloads = [workload_representation(w) for w in live[:200]]
    clusters = Cluster.objects.restrict(request.user, "read").prefetch_related("nodes__gpus")
    may_submit = any(may_anywhere(request.user, "create", resource) for resource in WORKLOAD_RESOURCES)
    context = {"workloads": workloads, "clusters": clusters, "may_submit": may_submit, "mine": mine}
    return render(request, "frontend/workload_list.html", context)


def _project_choices(user: Any) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The projects the subject may submit to (with their quotas and GPUs in use), and for each
    workload type the ids of those that take it."""
    allowed = {resource: set(projects.values_list("pk", flat=True)) for resource, projects in
               submittable_projects(user).items()}  # fmt: skip
    ids = set().union(*allowed.values())
    projects = Project.objects.filter(pk__in=ids).select_related("department").prefetch_related(*ORG_PREFETCH)
    held = allocated_gpus(user)
    choices = []
    for project in projects:
        rep = project_representation(project)
        choices.append({"id": str(project.pk), "name": project.name, "cluster": project.cluster.name,
                        "department": project.department.name, "inUse": held.get(("project", project.pk), 0.0),
                        "quotas": [{"pool": r["nodePool"]["name"], "deserved": r["gpu"]["deserved"],
                                    "limit": r["gpu"]["limit"]} for r in rep["resources"]]})  # fmt: skip
    by_kind = {kind: sorted(str(pk) for pk in allowed[resource]) for kind, (resource, _) in KINDS.items()}
    return choices, by_kind


def _submit(request: HttpRequest, kind: str, body: dict[str, Any]) -> Workload:
    """What the API's POST to ``/api/v1/workloads/<kind>`` does, for a form."""
    resource, serializer_class = KINDS[kind]
    serializer = serializer_class(data=body, context={"request": request})
    serializer.is_valid(raise_exception=True)
    asked = serializer.to_request()
    require(request.user, "create", resource, asked.project, f"project {asked.project.name!r}")
    workload = services.submit_training(asked, request.user)
    audit.record(audit.Origin.of(request), "create", "workload", workload.pk, workload.name)
    return workload


def _submission_body(post: Any) -> dict[str, Any]:
    """The form's fields as the API's request: only the GPU fraction that was chosen travels."""
    body = request_body(post)
    compute = body.get("spec", {}).get("compute", {})
    fraction = post.get("_gpuFraction", "whole")
    if fraction != "portion":
        compute.pop("gpuPortionRequest", None)
    if fraction != "memory":
        compute.pop("gpuMemoryRequest", None)
    if post.get("_type") != "distributed":
        body.get("spec", {}).pop("numWorkers", None)
    return body


@login_required
@page
def workload_new(request: HttpRequest) -> HttpResponse:
    projects, by_kind = _project_choices(request.user)
    if not projects:
        require(request.user, "create", "trainings", None, "any project")
    types = [(kind, label) for kind, label in KIND_LABELS.items() if by_kind[kind]]
    values: Any = {
        "_type": types[0][0] if types else "trainings",
        "_gpuFraction": "whole",
        "spec.compute.gpuDevicesRequest": "1",
        "projectId": projects[0]["id"] if projects else "",
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.POST
        kind = request.POST.get("_type", "")
        if kind not in KINDS:
            errors = {"_type": ["Choose a training, a distributed training, a workspace or an inference."]}
        else:
            workload, errors = attempt(lambda: _submit(request, kind, _submission_body(request.POST)), SUBMIT_FIELDS)
            if workload is not None:
                return redirect("workload-page-detail", workload_id=workload.pk)
    context = {
        "types": types,
        "projects": projects,
        "projects_json": json.dumps({"projects": projects, "byType": by_kind}),
        "values": values,
        "errors": errors,
        "fraction_choices": [
            ("whole", "Whole GPUs"),
            ("portion", "A portion of each GPU"),
            ("memory", "GPU memory per GPU"),
        ],  # fmt: skip
    }
    return render(request, "frontend/workload_new.html", context, status=400 if errors else 200)


def _visible(request: HttpRequest, workload_id: str) -> Workload:
    return get_object_or_404(Workload.objects.restrict(request.user, "read").live(), pk=workload_id)


@login_required
@page
def workload_detail(request: HttpRequest, workload_id: str) -> HttpResponse:
    workload = _visible(request, workload_id)
    resource = RESOURCE_OF_TYPE.get(workload.workload_type, "workloads")
    suspendable = WorkloadType(workload.workload_type).suspendable
    may_update = may(request.user, "update", resource, workload)
    context = {
        "workload": workload_representation(workload),
        "spec": json.dumps(workload.spec.get("spec", {}), indent=2),
        "events": workload.events.all(),
        "stdout": services.read_logs(workload, "stdout"),
        "stderr": services.read_logs(workload, "stderr"),
        "may_delete": may(request.user, "delete", resource, workload),
        "may_suspend": suspendable and workload.suspended_at is None and not workload.is_finished and may_update,
        "may_resume": suspendable and workload.suspended_at is not None and may_update,
    }
    return render(request, "frontend/workload_detail.html", context)


@require_POST
@login_required
@page
def workload_delete(request: HttpRequest, workload_id: str) -> HttpResponse:
    workload = _visible(request, workload_id)
    resource = RESOURCE_OF_TYPE.get(workload.workload_type, "workloads")
    require(request.user, "delete", resource, workload, f"project {workload.project.name!r}")
    services.delete_workload(workload)
    audit.record(audit.Origin.of(request), "delete", "workload", workload.pk, workload.name)
    messages.success(request, f"Workload {workload.name!r} deleted; its agent stops it if it still runs.")
    return redirect("workload-page-list")


@require_POST
@login_required
@page
def workload_change(request: HttpRequest, workload_id: str, change: str) -> HttpResponse:
    """Suspend or resume, as ``POST /api/v1/workloads/<type>/<id>/suspend|resume`` does."""
    workload = _visible(request, workload_id)
    resource = RESOURCE_OF_TYPE.get(workload.workload_type, "workloads")
    require(request.user, "update", resource, workload, f"project {workload.project.name!r}")
    if change not in LIFECYCLE:
        raise Http404(f"No such change: {change!r}.")
    apply, done = LIFECYCLE[change]
    if not WorkloadType(workload.workload_type).suspendable:
        messages.error(request, f"A {workload.workload_type.lower()} cannot be {done}.")
        return redirect("workload-page-detail", workload_id=workload.pk)
    try:
        apply(workload)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        audit.record(audit.Origin.of(request), change, "workload", workload.pk, workload.name)
        messages.success(request, f"Workload {workload.name!r} is being {done}.")
    return redirect("workload-page-detail", workload_id=workload.pk)
