"""Workload endpoints: thin views over ``workloads.services``."""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.access import require
from controlplane import listing
from controlplane.formats import iso_time
from controlplane.idempotency import idempotent
from controlplane.listing import Field
from workloads import services
from workloads.api import schemas
from workloads.api.serializers import TrainingCreationSerializer
from workloads.models import Workload, WorkloadType
from workloads.representations import typed_representation, workload_representation


def visible(request: Request, resource: str = "workloads") -> Any:
    """The live workloads the caller may read (the gate, ``restrict``)."""
    return Workload.objects.restrict(request.user, "read", resource).live()


FIELDS = {
    "name": Field("name"),
    "phase": Field("phase"),
    "type": Field("workload_type"),
    "clusterId": Field("cluster_id", "uuid"),
    "projectId": Field("project_id", "int"),
    "projectName": Field("project__name"),
    "departmentId": Field("project__department_id", "int"),
    "departmentName": Field("project__department__name"),
    "submittedBy": Field("submitted_by__username"),
    "priorityClassName": Field("priority_class"),
    "createdAt": Field("created_at", "date"),
    "phaseUpdatedAt": Field("phase_updated_at", "date"),
}


class TypedListView(APIView):
    """List and create one type of workload (``/api/v1/workloads/trainings`` and the like).
    Each type is its own resource in the access rules, as in Run:ai, where distributed trainings
    are trainings; ``collection`` is the type's path and the key of its list."""

    collection = "trainings"
    resource = "trainings"
    workload_type = WorkloadType.TRAINING
    serializer_class: type[TrainingCreationSerializer] = TrainingCreationSerializer
    schema = schemas.TypedListSchema()  # the list's key is the type's collection

    @extend_schema(parameters=schemas.LIST_PARAMETERS)
    def get(self, request: Request) -> Response:
        workloads = visible(request, self.resource).filter(workload_type=self.workload_type)
        found = listing.page(workloads, request.query_params, FIELDS)
        return Response({self.collection: [typed_representation(w) for w in found.items], "next": found.next})

    @extend_schema(parameters=[schemas.IDEMPOTENCY_KEY], responses={202: schemas.TypedWorkloadResponse})
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.serializer_class(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        asked = serializer.to_request()
        require(request.user, "create", self.resource, asked.project, f"project {asked.project.name!r}")
        submitter = request.user if getattr(request.user, "pk", None) is not None else None  # not applications
        try:
            workload = services.submit_training(asked, submitter)
        except services.WorkloadConflict as exc:
            return Response({"code": 409, "message": str(exc)}, status=status.HTTP_409_CONFLICT)
        audit.record(audit.Origin.of(request), "create", "workload", workload.pk, workload.name)
        return Response(typed_representation(workload), status=status.HTTP_202_ACCEPTED)


class TypedWorkloadView(APIView):
    """One workload of one type, found among those the caller may read (else 404)."""

    resource = "trainings"
    workload_type = WorkloadType.TRAINING

    def _get(self, request: Request, workload_id: str) -> Workload:
        return get_object_or_404(visible(request, self.resource), pk=workload_id, workload_type=self.workload_type)


class TypedDetailView(TypedWorkloadView):
    @extend_schema(responses={200: schemas.TypedWorkloadResponse})
    def get(self, request: Request, workload_id: str) -> Response:
        return Response(typed_representation(self._get(request, workload_id)))

    @extend_schema(responses={202: schemas.TypedWorkloadResponse})
    def delete(self, request: Request, workload_id: str) -> Response:
        workload = self._get(request, workload_id)
        require(request.user, "delete", self.resource, workload, f"project {workload.project.name!r}")
        services.delete_workload(workload)
        audit.record(audit.Origin.of(request), "delete", "workload", workload.pk, workload.name)
        return Response(typed_representation(workload), status=status.HTTP_202_ACCEPTED)


class TypedLifecycleView(TypedWorkloadView):
    """``POST .../<type>/<id>/suspend`` and ``/resume``: Run:ai's answer is 202 with a message.
    Suspending and resuming change the workload, so they take the ``update`` permission."""

    change = "suspend"
    changes = {
        "suspend": (services.suspend_workload, "is being suspended"),
        "resume": (services.resume_workload, "is being resumed"),
    }

    @extend_schema(request=None, responses={202: schemas.ACCEPTED})
    def post(self, request: Request, workload_id: str) -> Response:
        workload = self._get(request, workload_id)
        require(request.user, "update", self.resource, workload, f"project {workload.project.name!r}")
        apply, outcome = self.changes[self.change]
        apply(workload)
        audit.record(audit.Origin.of(request), self.change, "workload", workload.pk, workload.name)
        return Response({"code": 202, "message": f"Workload {workload.name!r} {outcome}."}, status.HTTP_202_ACCEPTED)


def typed_views(collection: str, resource: str, workload_type: str, serializer_class: type) -> dict[str, Any]:
    """The views of one workload type by name: list, detail and, where Run:ai has them, suspend
    and resume."""
    settings: dict[str, Any] = {"resource": resource, "workload_type": workload_type}
    classes = {
        "list": (TypedListView, {"collection": collection, "serializer_class": serializer_class}),
        "detail": (TypedDetailView, {}),
    }
    if WorkloadType(workload_type).suspendable:
        classes |= {change: (TypedLifecycleView, {"change": change}) for change in TypedLifecycleView.changes}
    return {
        name: type(f"{workload_type}{name.title()}View", (base,), {**settings, **extra}).as_view()
        for name, (base, extra) in classes.items()
    }


class WorkloadListView(APIView):
    @extend_schema(parameters=schemas.LIST_PARAMETERS, responses={200: schemas.WORKLOAD_LIST})
    def get(self, request: Request) -> Response:
        found = listing.page(visible(request), request.query_params, FIELDS)
        return Response({"workloads": [workload_representation(w) for w in found.items], "next": found.next})


class WorkloadCountView(APIView):
    @extend_schema(parameters=schemas.COUNT_PARAMETERS, responses={200: schemas.COUNT})
    def get(self, request: Request) -> Response:
        return Response({"count": listing.narrowed(visible(request), request.query_params, FIELDS).count()})


class WorkloadDetailView(APIView):
    @extend_schema(responses={200: schemas.WorkloadResponse})
    def get(self, request: Request, workload_id: str) -> Response:
        return Response(workload_representation(get_object_or_404(visible(request), pk=workload_id)))


class WorkloadEventsView(APIView):
    @extend_schema(responses={200: schemas.EVENTS})
    def get(self, request: Request, workload_id: str) -> Response:
        workload = get_object_or_404(visible(request), pk=workload_id)
        events = [
            {"createdAt": iso_time(e.created_at), "reason": e.reason, "message": e.message}
            for e in workload.events.all()
        ]
        return Response({"events": events})


class WorkloadLogsView(APIView):
    """The workload's stored output as plain text; ``?stream=stdout|stderr`` picks one."""

    @extend_schema(parameters=[schemas.LOG_STREAM], responses={(200, "text/plain"): schemas.LOGS})
    def get(self, request: Request, workload_id: str) -> HttpResponse:
        workload = get_object_or_404(visible(request), pk=workload_id)
        stream = request.query_params.get("stream")
        if stream not in (None, "stdout", "stderr"):
            raise ValidationError({"stream": ["Must be stdout or stderr."]})
        return HttpResponse(services.read_logs(workload, stream), content_type="text/plain; charset=utf-8")
