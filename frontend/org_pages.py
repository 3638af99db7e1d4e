"""Departments and projects with their quotas per node pool. Each change goes through the API's
serializers and ``clusters.org``, asking ``require`` for the same scope as the API does."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from accounts import audit
from accounts.access import may, require
from accounts.roles import DASHBOARDS
from clusters import org
from clusters.api.org_views import DEPARTMENTS, PROJECTS, OrgUnitKind
from clusters.models import Cluster, Department, NodePool
from controlplane.api import _flatten
from controlplane.formats import iso_time
from frontend.forms import attempt, page, request_body
from frontend.usage import allocated_gpus
from usage import services as usage_services
from usage.api.views import time_range
from usage.models import UsageHour

SHARE_FIELDS = ("deserved", "limit", "overQuotaWeight")
KINDS_OF_SHARE = (("gpu", "GPUs"), ("cpu", "CPU (millicores)"), ("memory", "Memory (MiB)"))


def quota_rows(pools: list[NodePool]) -> list[dict[str, Any]]:
    """One row per node pool: the form fields of its quota, named by their path in the API's body."""
    return [
        {
            "pool": pool,
            "id_field": f"resources[{index}].nodePool.id",
            "kinds": [
                {"kind": kind, "label": label, "fields": [f"resources[{index}].{kind}.{f}" for f in SHARE_FIELDS]}
                for kind, label in KINDS_OF_SHARE
            ],
        }
        for index, pool in enumerate(pools)
    ]


def stored_values(representation: dict[str, Any]) -> dict[str, Any]:
    """A department's or project's representation as form values, keyed by field path."""
    values: dict[str, Any] = {"name": representation["name"], "description": representation["description"]}
    for index, entry in enumerate(representation["resources"]):
        values[f"resources[{index}].nodePool.id"] = entry["nodePool"]["id"]
        for kind, _ in KINDS_OF_SHARE:
            for field in SHARE_FIELDS:
                value = entry[kind][field]
                values[f"resources[{index}].{kind}.{field}"] = "" if value is None else f"{value:g}"
    return values


def _fields(rows: list[dict[str, Any]]) -> list[str]:
    names = ["name", "description", "clusterId", "parentId", "defaultNodePools"]
    for row in rows:
        names += [row["id_field"]] + [f for kind in row["kinds"] for f in kind["fields"]]
    return names


def _units(kind: OrgUnitKind, request: HttpRequest) -> list[dict[str, Any]]:
    units = list(kind.objects(request).select_related("cluster"))
    in_use = allocated_gpus(request.user)
    return [
        {
            "unit": unit,
            "rep": kind.representation(unit),
            "in_use": in_use.get((kind.resource, unit.pk), 0),
            "may_update": may(request.user, "update", kind.resource, unit),
            "may_delete": may(request.user, "delete", kind.resource, unit),
        }
        for unit in units
    ]


@login_required
@page
def department_list(request: HttpRequest) -> HttpResponse:
    context = {
        "units": _units(DEPARTMENTS, request),
        "may_create": Cluster.objects.restrict(request.user, "create", "department").exists(),
    }
    return render(request, "frontend/department_list.html", context)


@login_required
@page
def project_list(request: HttpRequest) -> HttpResponse:
    context = {
        "units": _units(PROJECTS, request),
        "may_create": Department.objects.restrict(request.user, "create", "project").exists(),
    }
    return render(request, "frontend/project_list.html", context)


def _body(request: HttpRequest, kind: OrgUnitKind) -> dict[str, Any]:
    """The form as the API's body. A project's default node pools come from one choice per
    place in their order, unchosen places left out."""
    body = request_body(request.POST)
    body.pop("defaultNodePools", None)
    chosen = [name.strip() for name in request.POST.getlist("defaultNodePools") if name.strip()]
    if kind is PROJECTS and chosen:
        body["defaultNodePools"] = chosen
    return body


def _pool_choices(kind: OrgUnitKind, pools: list[NodePool], chosen: list[str]) -> list[dict[str, Any]] | None:
    """For a project's form: one choice per node pool, in order, each showing what is chosen there."""
    if kind is not PROJECTS:
        return None
    return [
        {"place": place, "chosen": chosen[place - 1] if place <= len(chosen) else ""}
        for place in range(1, len(pools) + 1)
    ]


@login_required
@page
def department_new(request: HttpRequest) -> HttpResponse:
    clusters = list(Cluster.objects.restrict(request.user, "create", "department"))
    chosen = request.POST.get("clusterId") or request.GET.get("cluster")
    cluster = next((c for c in clusters if str(c.pk) == chosen), clusters[0] if clusters else None)
    return _new_unit(request, DEPARTMENTS, cluster, None, {"clusters": clusters})


@login_required
@page
def project_new(request: HttpRequest) -> HttpResponse:
    departments = list(Department.objects.restrict(request.user, "create", "project").select_related("cluster"))
    chosen = request.POST.get("parentId") or request.GET.get("department")
    department = next((d for d in departments if str(d.pk) == chosen), departments[0] if departments else None)
    cluster = department.cluster if department else None
    return _new_unit(request, PROJECTS, cluster, department, {"departments": departments})


def _new_unit(
    request: HttpRequest, kind: OrgUnitKind, cluster: Cluster | None, department: Department | None, extra: dict
) -> HttpResponse:
    if cluster is None:
        require(request.user, "create", kind.resource, None, "any scope you hold")
    pools = list(cluster.node_pools.all()) if cluster else []
    if cluster and not pools:
        pools = [org.default_pool(cluster)]
    rows = quota_rows(pools)
    values: dict[str, Any] = {row["id_field"]: str(row["pool"].pk) for row in rows}
    chosen: list[str] = []
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values, chosen = request.POST, request.POST.getlist("defaultNodePools")
        unit, errors = attempt(lambda: kind.created(request, _body(request, kind)), _fields(rows))
        if unit is not None:
            messages.success(request, f"{kind.resource.capitalize()} {unit.name!r} created.")
            return redirect(f"{kind.resource}-page-list")
    context = {"kind": kind.resource, "cluster": cluster, "department": department, "rows": rows, "values": values,
               "pools": pools, "pool_choices": _pool_choices(kind, pools, chosen), "errors": errors,
               "may_update": True, **extra}  # fmt: skip
    return render(request, "frontend/org_unit_form.html", context, status=400 if errors else 200)


def _edit_unit(request: HttpRequest, kind: OrgUnitKind, unit_id: int) -> HttpResponse:
    unit = get_object_or_404(kind.objects(request), pk=unit_id)
    representation = kind.representation(unit)
    pools = list(unit.cluster.node_pools.all())
    rows = quota_rows(pools)
    figures = {entry["nodePoolId"]: entry for entry in representation["status"]["nodePoolQuotaStatuses"]}
    for row in rows:  # the scheduler's figures beside the quotas they come from
        row["figures"] = figures.get(str(row["pool"].pk), {})
    values: Any = stored_values(representation)
    chosen = representation.get("defaultNodePools") or []
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values, chosen = request.POST, request.POST.getlist("defaultNodePools")
        _, errors = attempt(
            lambda: kind.updated(request, unit, _body(request, kind)), [f for f in _fields(rows) if f != "name"]
        )
        if not errors:
            messages.success(request, f"{kind.resource.capitalize()} {unit.name!r} saved.")
            return redirect(f"{kind.resource}-page-list")
    context = {"kind": kind.resource, "unit": unit, "cluster": unit.cluster, "rows": rows, "values": values,
               "pools": pools, "pool_choices": _pool_choices(kind, pools, chosen), "errors": errors,
               "may_update": may(request.user, "update", kind.resource, unit),
               "may_read_dashboards": may(request.user, "read", DASHBOARDS, unit)}  # fmt: skip
    return render(request, "frontend/org_unit_form.html", context, status=400 if errors else 200)


@login_required
@page
def department_edit(request: HttpRequest, unit_id: int) -> HttpResponse:
    return _edit_unit(request, DEPARTMENTS, unit_id)


@login_required
@page
def project_edit(request: HttpRequest, unit_id: int) -> HttpResponse:
    return _edit_unit(request, PROJECTS, unit_id)


def _delete_unit(request: HttpRequest, kind: OrgUnitKind, unit_id: int) -> HttpResponse:
    unit = get_object_or_404(kind.objects(request), pk=unit_id)
    require(request.user, "delete", kind.resource, unit, f"{kind.resource} {unit.name!r}")
    name, pk = unit.name, unit.pk
    _, errors = attempt(lambda: kind.delete(unit), [])
    if errors:
        messages.error(request, " ".join(errors[""]))
    else:
        audit.record(audit.Origin.of(request), "delete", kind.resource, pk, name)
        messages.success(request, f"{kind.resource.capitalize()} {name!r} deleted.")
    return redirect(f"{kind.resource}-page-list")


@require_POST
@login_required
@page
def department_delete(request: HttpRequest, unit_id: int) -> HttpResponse:
    return _delete_unit(request, DEPARTMENTS, unit_id)


@require_POST
@login_required
@page
def project_delete(request: HttpRequest, unit_id: int) -> HttpResponse:
    return _delete_unit(request, PROJECTS, unit_id)


def _usage_series(request: HttpRequest, kind: OrgUnitKind, unit_id: int) -> JsonResponse:
    """A department's or project's GPU-hours per hour (allocated, used), from the usage roll-ups
    the caller may read on the dashboards, in the metrics API's shape, for the unit's chart."""
    unit = get_object_or_404(kind.objects(request), pk=unit_id)
    try:
        start, end = time_range(request.GET)
    except ValidationError as exc:
        return JsonResponse({"code": 400, "message": "; ".join(_flatten(exc.detail))}, status=400)
    visible = UsageHour.objects.restrict(request.user, "read").filter(**{f"{kind.resource}_id": unit.pk})
    rows = list(usage_services.usage_hours(start, end, visible, kind.resource))
    series = {
        name: {"type": name, "labels": None, "values": [{"timestamp": iso_time(row["hour"]), "value": str(row[field])}
                                                         for row in rows if row[field] is not None]}
        for name, field in (("GPU_HOURS_ALLOCATED", "allocated"), ("GPU_HOURS_USED", "used"))
    }  # fmt: skip
    return JsonResponse({"measurements": list(series.values())})


@login_required
@page
def department_usage(request: HttpRequest, unit_id: int) -> JsonResponse:
    return _usage_series(request, DEPARTMENTS, unit_id)


@login_required
@page
def project_usage(request: HttpRequest, unit_id: int) -> JsonResponse:
    return _usage_series(request, PROJECTS, unit_id)
