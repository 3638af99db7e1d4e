"""The OpenAPI description of the workload endpoints' bodies, in Run:ai's shapes as
workloads/representations.py writes them. Documentation only: the views build their answers
themselves; these serializers only tell drf-spectacular what those look like."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from controlplane.schema import COUNT as COUNT
from controlplane.schema import COUNT_PARAMETERS as COUNT_PARAMETERS
from controlplane.schema import IDEMPOTENCY_KEY as IDEMPOTENCY_KEY
from controlplane.schema import LIST_PARAMETERS as LIST_PARAMETERS
from controlplane.schema import NEXT, ApiSchema


class RequestedResourcesResponse(serializers.Serializer):
    """Whole devices, or devices at a portion or by memory; CPU cores and memory where asked."""

    gpuRequestType = serializers.ChoiceField(choices=["portion", "memory"])
    gpu = inline_serializer("GpuRequest", {"request": serializers.FloatField()})
    gpuPortion = inline_serializer(
        "GpuPortionRequest",
        {"request": serializers.FloatField(), "limit": serializers.FloatField(allow_null=True)},
        required=False,
    )
    gpuMemory = inline_serializer(
        "GpuMemoryRequest", {"request": serializers.CharField(help_text="e.g. 512Mi")}, required=False
    )
    cpu = inline_serializer("CpuRequest", {"request": serializers.FloatField(help_text="cores")}, required=False)
    memory = inline_serializer(
        "MemoryRequest", {"request": serializers.CharField(help_text="e.g. 512Mi")}, required=False
    )


class WorkloadResponse(serializers.Serializer):
    """The ``Workload`` object of ``GET /api/v1/workloads``, with Tessera's additions
    (``desiredPhase``, ``exitCode``, ``nodeName``, ``allocatedGpuIds``)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.CharField()
    clusterId = serializers.UUIDField()
    projectId = serializers.CharField()
    projectName = serializers.CharField()
    departmentId = serializers.CharField()
    departmentName = serializers.CharField()
    namespace = serializers.CharField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    deletedAt = serializers.DateTimeField(allow_null=True)
    submittedBy = serializers.CharField(allow_null=True)
    phase = serializers.CharField()
    phaseMessage = serializers.CharField(allow_blank=True)
    phaseUpdatedAt = serializers.DateTimeField(allow_null=True)
    k8sPhase = serializers.CharField()
    completedAt = serializers.DateTimeField(allow_null=True)
    images = serializers.ListField(child=serializers.CharField())
    command = serializers.CharField(allow_blank=True)
    arguments = serializers.CharField(allow_blank=True)
    environmentVariables = inline_serializer(
        "EnvironmentVariableResponse",
        {"name": serializers.CharField(), "value": serializers.CharField(allow_blank=True)},
        many=True,
    )
    priorityClassName = serializers.CharField()
    preemptible = serializers.BooleanField()
    requestedPods = inline_serializer(
        "RequestedPods", {"min": serializers.IntegerField(), "max": serializers.IntegerField()}
    )
    runningPods = serializers.IntegerField()
    workloadRequestedResources = RequestedResourcesResponse()
    podsRequestedResources = RequestedResourcesResponse()
    allocatedResources = inline_serializer("AllocatedResources", {"gpu": serializers.IntegerField()})
    distributedFramework = serializers.CharField(allow_null=True)
    actionsSupport = inline_serializer(
        "ActionsSupport", {"delete": serializers.BooleanField(), "suspend": serializers.BooleanField()}
    )
    conditions = inline_serializer(
        "WorkloadCondition",
        {
            "type": serializers.CharField(),
            "status": serializers.CharField(help_text='"True" or "False", as Kubernetes conditions have it.'),
            "reason": serializers.CharField(),
            "message": serializers.CharField(allow_blank=True),
            "lastTransitionTime": serializers.DateTimeField(allow_null=True),
        },
        many=True,
    )
    urls = serializers.ListField(child=serializers.URLField(), help_text="Where its tools answer while it runs.")
    requestedNodePools = serializers.ListField(child=serializers.CharField())
    currentNodePool = serializers.CharField(allow_null=True, help_text="The pool of the node it runs on.")
    source = serializers.CharField()
    desiredPhase = serializers.ChoiceField(choices=["Running", "Stopped", "Deleted"])
    exitCode = serializers.IntegerField(allow_null=True)
    nodeName = serializers.CharField(allow_null=True)
    allocatedGpuIds = serializers.ListField(child=serializers.JSONField())


WORKLOAD_LIST = inline_serializer("WorkloadList", {"workloads": WorkloadResponse(many=True), "next": NEXT})


class TypedWorkloadResponse(serializers.Serializer):
    """Run:ai's ``Training``, ``Workspace``, ``Inference`` or ``Distributed``: the request's
    ``spec`` as given, with the workload's ids and phases."""

    name = serializers.CharField()
    requestedName = serializers.CharField()
    workloadId = serializers.UUIDField()
    projectId = serializers.CharField()
    departmentId = serializers.CharField()
    clusterId = serializers.UUIDField()
    createdBy = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField()
    deletedAt = serializers.DateTimeField(allow_null=True)
    desiredPhase = serializers.ChoiceField(choices=["Running", "Stopped", "Deleted"])
    actualPhase = serializers.CharField()
    spec = serializers.JSONField()
    masterSpecSameAsWorker = serializers.BooleanField(required=False, help_text="Distributed trainings only.")
    masterSpec = serializers.JSONField(required=False, help_text="Distributed trainings only.")


def typed_list(collection: str) -> serializers.Serializer:
    """``{"<collection>": [...], "next"}`` of one workload type's list."""
    return inline_serializer(f"{collection.title()}List", {collection: TypedWorkloadResponse(many=True), "next": NEXT})


ACCEPTED = inline_serializer("Accepted", {"code": serializers.IntegerField(), "message": serializers.CharField()})
EVENTS = inline_serializer(
    "WorkloadEvents",
    {
        "events": inline_serializer(
            "WorkloadEvent",
            {
                "createdAt": serializers.DateTimeField(),
                "reason": serializers.CharField(),
                "message": serializers.CharField(allow_blank=True),
            },
            many=True,
        )
    },
)
LOGS = OpenApiResponse(str, description="The workload's stored output as plain text.")
LOG_STREAM = OpenApiParameter("stream", str, enum=["stdout", "stderr"], description="Only this stream.")


class TypedListSchema(ApiSchema):
    """A workload type's list answers under its own key (``view.collection``)."""

    def get_response_serializers(self) -> object:
        if self.method == "GET":
            return typed_list(self.view.collection)
        return super().get_response_serializers()
