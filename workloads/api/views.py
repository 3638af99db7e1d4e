"""Workload endpoints: thin views over ``workloads.services``."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.formats import iso_time
from workloads import services
from workloads.api.serializers import PageSerializer, TrainingCreationSerializer
from workloads.models import Workload, WorkloadType
from workloads.representations import training_representation, workload_representation

LIVE_WORKLOADS = Workload.objects.filter(deleted_at__isnull=True).select_related("project__department", "submitted_by")


def _page(request: Request) -> tuple[int, int]:
    page = PageSerializer(data=request.query_params.dict())
    page.is_valid(raise_exception=True)
    return page.validated_data["offset"], page.validated_data["limit"]


class TrainingListView(APIView):
    def get(self, request: Request) -> Response:
        offset, limit = _page(request)
        trainings = LIVE_WORKLOADS.filter(workload_type=WorkloadType.TRAINING)[offset : offset + limit]
        return Response({"trainings": [training_representation(w) for w in trainings]})

    def post(self, request: Request) -> Response:
        serializer = TrainingCreationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            workload = services.submit_training(serializer.to_request(), request.user)
        except services.WorkloadConflict as exc:
            return Response({"code": 409, "message": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(training_representation(workload), status=status.HTTP_202_ACCEPTED)


class TrainingDetailView(APIView):
    def get(self, request: Request, workload_id: str) -> Response:
        workload = get_object_or_404(LIVE_WORKLOADS, pk=workload_id, workload_type=WorkloadType.TRAINING)
        return Response(training_representation(workload))

    def delete(self, request: Request, workload_id: str) -> Response:
        workload = get_object_or_404(LIVE_WORKLOADS, pk=workload_id, workload_type=WorkloadType.TRAINING)
        services.delete_workload(workload)
        return Response(training_representation(workload), status=status.HTTP_202_ACCEPTED)


class WorkloadListView(APIView):
    def get(self, request: Request) -> Response:
        offset, limit = _page(request)
        workloads = list(LIVE_WORKLOADS[offset : offset + limit + 1])
        more = len(workloads) > limit
        return Response(
            {
                "workloads": [workload_representation(w) for w in workloads[:limit]],
                "next": offset + limit if more else None,
            }
        )


class WorkloadDetailView(APIView):
    def get(self, request: Request, workload_id: str) -> Response:
        return Response(workload_representation(get_object_or_404(LIVE_WORKLOADS, pk=workload_id)))


class WorkloadEventsView(APIView):
    def get(self, request: Request, workload_id: str) -> Response:
        workload = get_object_or_404(LIVE_WORKLOADS, pk=workload_id)
        events = [
            {"createdAt": iso_time(e.created_at), "reason": e.reason, "message": e.message}
            for e in workload.events.all()
        ]
        return Response({"events": events})


class WorkloadLogsView(APIView):
    """The workload's stored output as plain text; ``?stream=stdout|stderr`` picks one."""

    def get(self, request: Request, workload_id: str) -> HttpResponse:
        workload = get_object_or_404(LIVE_WORKLOADS, pk=workload_id)
        stream = request.query_params.get("stream")
        if stream not in (None, "stdout", "stderr"):
            raise ValidationError({"stream": ["Must be stdout or stderr."]})
        return HttpResponse(services.read_logs(workload, stream), content_type="text/plain; charset=utf-8")
