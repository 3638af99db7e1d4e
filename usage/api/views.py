"""Metrics and usage endpoints: thin views over ``usage.services``.

``GET /api/v1/workloads/ID/metrics``, ``/api/v1/clusters/ID/metrics`` and ``/api/v1/nodes/ID/metrics``
take Run:ai's ``metricType`` (repeated or comma-separated), ``start``, ``end`` (ISO 8601) and
``numberOfSamples`` (0 to 1000, default 20; 0: every sample) and answer ``{"measurements": [...]}``;
so do ``/api/v1/org-unit/departments/ID/metrics`` and ``/api/v1/org-unit/projects/ID/metrics``.
``GET /api/v1/usage/gpu-hours`` is the hourly roll-up as CSV. ``/metrics`` is for Prometheus.
"""

import csv
import hmac
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.access import may, require
from accounts.roles import DASHBOARDS
from clusters.api.org_views import DEPARTMENTS, PROJECTS, OrgUnitKind
from clusters.models import Cluster, Node, NodePool
from controlplane.formats import iso_time
from usage import prometheus, services
from usage.models import DeviceSample, UsageHour
from workloads.api.views import visible

MAX_SAMPLES = 1000
_OFFSET_WITHOUT_PLUS = re.compile(r" (\d{2}:?\d{2})$")  # an unencoded "+" arrives as a space

METRIC_PARAMETERS = [
    OpenApiParameter("metricType", str, many=True, required=True, description="Which metrics, e.g. GPU_UTILIZATION."),
    OpenApiParameter("start", datetime, required=True, description="Start of the range, ISO 8601."),
    OpenApiParameter("end", datetime, required=True, description="End of the range, ISO 8601."),
    OpenApiParameter("numberOfSamples", int, description="Points in the range (0 to 1000, default 20; 0: all)."),
]


MEASUREMENTS = inline_serializer(
    "MeasurementsResponse",
    {
        "measurements": serializers.ListField(
            child=inline_serializer(
                "MeasurementResponse",
                {
                    "type": serializers.CharField(),
                    "labels": serializers.DictField(child=serializers.CharField(), allow_null=True),
                    "values": serializers.ListField(
                        child=inline_serializer(
                            "MeasurementValue",
                            {"value": serializers.CharField(), "timestamp": serializers.DateTimeField()},
                        )
                    ),
                },
            )
        )
    },
)
"""Run:ai's ``MetricsResponse``: a measurement per metric type (per device for ``..._PER_GPU``)."""


def _time(params: Any, name: str) -> datetime:
    raw = params.get(name)
    if not raw:
        raise ValidationError({name: ["Required: a date and time in ISO 8601, e.g. 2026-01-01T00:00:00Z."]})
    try:
        moment = datetime.fromisoformat(_OFFSET_WITHOUT_PLUS.sub(r"+\1", raw.strip()).replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # not ISO 8601, or out of range once in UTC
        raise ValidationError({name: [f"{raw!r} is not a date and time in ISO 8601."]}) from None


def time_range(params: Any) -> tuple[datetime, datetime]:
    """``start`` and ``end`` from the query, the end after the start."""
    start, end = _time(params, "start"), _time(params, "end")
    if end <= start:
        raise ValidationError({"end": ["Must be after start."]})
    return start, end


def metrics_query(params: Any, collected: tuple[str, ...]) -> tuple[list[str], services.Window]:
    """Run:ai's metric query parameters, checked: each bad one is a 400 that names it."""
    types = [part.strip() for given in params.getlist("metricType") for part in given.split(",") if part.strip()]
    if not types:
        raise ValidationError({"metricType": [f"Required; one or more of {', '.join(collected)}."]})
    unknown = [t for t in types if t not in collected]
    if unknown:
        raise ValidationError(
            {"metricType": [f"Not collected here: {', '.join(unknown)}; one of {', '.join(collected)}."]}
        )
    start, end = time_range(params)
    raw = params.get("numberOfSamples", "20")
    try:
        buckets = int(raw)
    except ValueError:
        buckets = -1
    if not 0 <= buckets <= MAX_SAMPLES:
        raise ValidationError({"numberOfSamples": [f"An integer from 0 to {MAX_SAMPLES}, not {raw!r}."]})
    return list(dict.fromkeys(types)), services.Window(start, end, buckets)


def _value(metric: str, value: float) -> str:
    # Run:ai writes values as strings; bytes and counts are whole numbers.
    if "BYTES" in metric or metric in ("TOTAL_GPU", "TOTAL_GPU_NODES"):
        return str(round(value))
    return f"{value:.6g}"


def measurement(metric: str, points: list[tuple[datetime, float]], labels: dict[str, str] | None = None) -> dict:
    """Run:ai's ``MeasurementResponse``."""
    values = [{"value": _value(metric, value), "timestamp": iso_time(at)} for at, value in points]
    return {"type": metric, "labels": labels, "values": values}


class WorkloadMetricsView(APIView):
    """A workload's GPU allocation, memory used and utilisation over time."""

    @extend_schema(parameters=METRIC_PARAMETERS, responses={200: MEASUREMENTS})
    def get(self, request: Request, workload_id: str) -> Response:
        workload = get_object_or_404(visible(request), pk=workload_id)
        types, window = metrics_query(request.query_params, tuple(services.WORKLOAD_METRICS))
        series = [measurement(t, services.workload_series(workload, t, window)) for t in types]
        return Response({"measurements": series})


class ClusterMetricsView(APIView):
    """A cluster's GPUs over time: totals over its devices at each instant. Needs the right to
    read the dashboards on the cluster."""

    @extend_schema(
        parameters=[*METRIC_PARAMETERS, OpenApiParameter("nodepoolName", str, description="Only this pool's nodes.")],
        responses={200: MEASUREMENTS},
    )
    def get(self, request: Request, cluster_id: str) -> Response:
        cluster = get_object_or_404(Cluster.objects.restrict(request.user, "read"), pk=cluster_id)
        require(request.user, "read", DASHBOARDS, cluster, f"cluster {cluster.name!r}")
        types, window = metrics_query(request.query_params, services.CLUSTER_METRICS)
        devices = DeviceSample.objects.filter(cluster=cluster)
        pool = request.query_params.get("nodepoolName")
        if pool is not None:
            if pool != NodePool.DEFAULT and not cluster.node_pools.filter(name=pool).exists():
                raise ValidationError({"nodepoolName": [f"No node pool {pool!r} in this cluster."]})
            in_pool = Q(node_pool__name=pool)
            if pool == NodePool.DEFAULT:
                in_pool |= Q(node_pool__isnull=True)
            names = Node.objects.filter(in_pool, cluster=cluster).values_list("name", flat=True)
            devices = devices.filter(node__in=list(names))
        series = [measurement(t, services.device_totals_series(devices, t, window)) for t in types]
        return Response({"measurements": series})


class NodeMetricsView(APIView):
    """A node's GPUs over time: totals over its devices, or per device (``..._PER_GPU``, one
    measurement per device, labelled with its index)."""

    @extend_schema(parameters=METRIC_PARAMETERS, responses={200: MEASUREMENTS})
    def get(self, request: Request, node_id: int) -> Response:
        node = get_object_or_404(Node.objects.restrict(request.user, "read"), pk=node_id)
        collected = (*services.NODE_METRICS, *services.NODE_METRICS_PER_GPU)
        types, window = metrics_query(request.query_params, collected)
        devices = DeviceSample.objects.filter(cluster_id=node.cluster_id, node=node.name)
        series = []
        for metric in types:
            if metric in services.NODE_METRICS_PER_GPU:
                series += [
                    measurement(metric, points, {"gpu": str(index)})
                    for index, points in services.per_device_series(devices, metric, window)
                ]
            else:
                series.append(measurement(metric, services.device_totals_series(devices, metric, window)))
        return Response({"measurements": series})


class UnitMetricsView(APIView):
    """A department's or project's GPUs over time (``GPU_ALLOCATION``, ``GPU_UTILIZATION``), over
    its workloads. Needs the right to read the dashboards on it."""

    kind: OrgUnitKind

    @extend_schema(
        parameters=[
            OpenApiParameter("metricType", str, many=True, required=True, enum=list(services.UNIT_METRICS),
                             description="GPU_ALLOCATION (GPUs held, as Run:ai) or GPU_UTILIZATION (percent; "
                                         "Tessera's addition, unknown where no device measured it)."),
            *METRIC_PARAMETERS[1:],
        ],
        responses={200: MEASUREMENTS},
    )  # fmt: skip
    def get(self, request: Request, unit_id: int) -> Response:
        unit = get_object_or_404(self.kind.objects(request), pk=unit_id)
        require(request.user, "read", DASHBOARDS, unit, f"{self.kind.resource} {unit.name!r}")
        if "nodepoolName" in request.query_params:
            raise ValidationError({"nodepoolName": ["Not offered here yet: a unit's usage is not split by node pool."]})
        types, window = metrics_query(request.query_params, services.UNIT_METRICS)
        points = services.unit_usage(unit, window)
        series = {
            "GPU_ALLOCATION": [(p.at, p.gpu_allocation) for p in points],
            "GPU_UTILIZATION": [(p.at, p.gpu_utilization) for p in points if p.gpu_utilization is not None],
        }
        return Response({"measurements": [measurement(t, series[t]) for t in types]})


class DepartmentMetricsView(UnitMetricsView):
    kind = DEPARTMENTS


class ProjectMetricsView(UnitMetricsView):
    kind = PROJECTS


CSV_COLUMNS = {
    "project": ["hour", "clusterId", "clusterName", "departmentId", "departmentName", "projectId", "projectName",
                "gpuHoursAllocated", "gpuHoursUsed"],
    "department": ["hour", "clusterId", "clusterName", "departmentId", "departmentName", "gpuHoursAllocated",
                   "gpuHoursUsed"],
}  # fmt: skip


class _Line:
    """A file-like object whose ``write`` hands back the line, for streaming CSV."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(by: str, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS[by])
    for row in rows:
        ids = [
            iso_time(row["hour"]),
            row["cluster_id"],
            row["cluster__name"],
            row["department_id"],
            row["department__name"],
        ]
        if by == "project":
            ids += [row["project_id"], row["project__name"]]
        used = "" if row["used"] is None else f"{row['used']:.6f}"
        yield writer.writerow([*ids, f"{row['allocated']:.6f}", used])


class UsageExportView(APIView):
    """GPU-hours per hour and project (or department, ``groupBy=department``) from ``start``
    (inclusive) to ``end`` (exclusive), as CSV; only what the caller may see on the dashboards."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start", datetime, required=True),
            OpenApiParameter("end", datetime, required=True),
            OpenApiParameter("groupBy", str, enum=["project", "department"]),
        ],
        responses={(200, "text/csv"): str},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        start, end = time_range(request.query_params)
        by = request.query_params.get("groupBy", "project")
        if by not in CSV_COLUMNS:
            raise ValidationError({"groupBy": ["Must be project or department."]})
        rows = services.usage_hours(start, end, UsageHour.objects.restrict(request.user, "read"), by)
        response = StreamingHttpResponse(_csv_lines(by, rows), content_type="text/csv; charset=utf-8")
        stamp = f"{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}"
        response["Content-Disposition"] = f'attachment; filename="tessera-gpu-hours-{by}-{stamp}.csv"'
        return response


SCRAPER = "metrics-token"


class MetricsTokenAuthentication(BaseAuthentication):
    """A Prometheus scraper presents ``TESSERA_METRICS_TOKEN`` as a bearer token."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        expected = settings.TESSERA_METRICS_TOKEN
        parts = get_authorization_header(request).split()
        if not expected or len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        if not hmac.compare_digest(parts[1], expected.encode()):
            return None  # maybe a user's token: the next authenticator decides
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), SCRAPER

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tessera"'


class PrometheusView(APIView):
    """Latest GPU metrics in Prometheus' text format, for a scraper with the metrics token or a
    caller who may read the dashboards of the whole account."""

    authentication_classes = [MetricsTokenAuthentication, *api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    permission_classes: list[Any] = []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> HttpResponse:
        if request.auth != SCRAPER:
            if not getattr(request.user, "is_authenticated", False):
                raise NotAuthenticated()
            if not may(request.user, "read", DASHBOARDS):
                raise PermissionDenied("You may not read dashboards-overview in the account.")
        body, content_type = prometheus.exposition()
        return HttpResponse(body, content_type=content_type)
