"""The OpenAPI description of the cluster, organisation and node pool endpoints' bodies, in
Run:ai's shapes as clusters/api/representations.py writes them. Documentation only: the views
build their answers themselves; these serializers only tell drf-spectacular what those look like."""

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers

from clusters.api.pool_serializers import COMPUTE_MODE_HELP
from clusters.models import GpuComputeMode
from controlplane.schema import COUNT as COUNT
from controlplane.schema import COUNT_PARAMETERS as COUNT_PARAMETERS
from controlplane.schema import IDEMPOTENCY_KEY as IDEMPOTENCY_KEY
from controlplane.schema import LIST_PARAMETERS as LIST_PARAMETERS
from controlplane.schema import NEXT
from controlplane.schema import NO_CONTENT as NO_CONTENT

NEW_CLUSTER = OpenApiExample("A cluster", value={"name": "gpu-cluster"}, request_only=True)


class ClusterStatusResponse(serializers.Serializer):
    state = serializers.CharField()
    conditions = serializers.ListField(child=serializers.JSONField())
    platform = inline_serializer("ClusterPlatform", {"type": serializers.CharField()})


class ClusterResponse(serializers.Serializer):
    """Run:ai's ``Cluster``, with Tessera's ``simulated``."""

    uuid = serializers.UUIDField()
    tenantId = serializers.IntegerField()
    name = serializers.CharField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    deletedAt = serializers.DateTimeField(allow_null=True)
    domain = serializers.CharField(allow_null=True)
    version = serializers.CharField(allow_null=True)
    lastLiveness = serializers.DateTimeField(allow_null=True)
    status = ClusterStatusResponse()
    simulated = serializers.BooleanField(help_text="The agent declared simulated GPUs because NVML found none.")


class ClusterCreatedResponse(ClusterResponse):
    installationInfo = inline_serializer(
        "ClusterInstallationInfo",
        {
            "installationStr": serializers.CharField(help_text="How to start the agent; holds the one-time token."),
            "repositoryName": serializers.CharField(allow_blank=True),
            "chartRepoURL": serializers.CharField(allow_blank=True),
            "clientSecret": serializers.CharField(help_text="The agent's join token, shown this once."),
        },
    )


class ShareResponse(serializers.Serializer):
    deserved = serializers.FloatField(allow_null=True)
    limit = serializers.FloatField(help_text="-1: unlimited.")
    overQuotaWeight = serializers.FloatField()


class MemoryShareResponse(ShareResponse):
    units = serializers.CharField()


class ResourcesResponse(serializers.Serializer):
    """One node pool's quota of an organisation unit."""

    nodePool = inline_serializer("NodePoolReference", {"id": serializers.CharField(), "name": serializers.CharField()})
    gpu = ShareResponse()
    cpu = ShareResponse()
    memory = MemoryShareResponse()
    priority = serializers.CharField()


TOTAL_RESOURCES = inline_serializer(
    "TotalResources",
    {
        "gpuQuota": serializers.FloatField(allow_null=True),
        "cpuQuota": serializers.FloatField(allow_null=True),
        "memoryQuota": serializers.FloatField(allow_null=True),
    },
)


GPUS = inline_serializer("QuotaStatusGpus", {"gpus": serializers.FloatField(required=False)})


class NodePoolQuotaStatusResponse(serializers.Serializer):
    """What the cluster's scheduler last reported of a unit in one node pool; empty objects until
    it has."""

    nodePoolId = serializers.CharField()
    nodePoolName = serializers.CharField()
    allocated = GPUS
    fairShare = inline_serializer(
        "FairShareGpus",
        {"gpus": serializers.FloatField(required=False)},
        help_text="Tessera's own: the fair share the scheduler computed by water-filling.",
    )
    overQuota = serializers.BooleanField(
        allow_null=True, help_text="Tessera's own: the unit holds more than its deserved quota here."
    )


QUOTA_STATUS = {
    "lastUpdatedTime": serializers.DateTimeField(allow_null=True),
    "nodePoolQuotaStatuses": NodePoolQuotaStatusResponse(many=True),
    "quotaStatus": inline_serializer("QuotaStatus", {"allocated": GPUS}),
}


class DepartmentResponse(serializers.Serializer):
    """Run:ai's ``DepartmentForList``."""

    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    clusterId = serializers.UUIDField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    defaultNodePools = serializers.ListField(child=serializers.CharField(), allow_null=True)
    children = inline_serializer(
        "DepartmentChild", {"id": serializers.CharField(), "name": serializers.CharField()}, many=True
    )
    resources = ResourcesResponse(many=True)
    totalResources = TOTAL_RESOURCES
    status = inline_serializer("DepartmentStatus", {"phase": serializers.CharField(), **QUOTA_STATUS})


class ProjectResponse(serializers.Serializer):
    """Run:ai's ``Project``."""

    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    clusterId = serializers.UUIDField()
    parentId = serializers.CharField()
    parentName = serializers.CharField()
    requestedNamespace = serializers.CharField()
    defaultNodePools = serializers.ListField(child=serializers.CharField())
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    resources = ResourcesResponse(many=True)
    totalResources = TOTAL_RESOURCES
    status = inline_serializer(
        "ProjectStatus", {"namespace": serializers.CharField(), "phase": serializers.CharField(), **QUOTA_STATUS}
    )


DEPARTMENT_LIST = inline_serializer("DepartmentList", {"departments": DepartmentResponse(many=True), "next": NEXT})
PROJECT_LIST = inline_serializer("ProjectList", {"projects": ProjectResponse(many=True), "next": NEXT})


class NodePoolResponse(serializers.Serializer):
    """Run:ai's ``Nodepool``, with Tessera's ``gpuComputeMode``."""

    id = serializers.CharField()
    name = serializers.CharField()
    isDefault = serializers.BooleanField()
    labelKey = serializers.CharField(allow_blank=True)
    labelValue = serializers.CharField(allow_blank=True)
    clusterId = serializers.UUIDField()
    clusterName = serializers.CharField()
    tenantId = serializers.IntegerField()
    overProvisioningRatio = serializers.IntegerField()
    placementStrategy = inline_serializer(
        "PlacementStrategy", {"gpu": serializers.CharField(), "cpu": serializers.CharField()}
    )
    gpuComputeMode = serializers.ChoiceField(choices=GpuComputeMode.values, help_text=COMPUTE_MODE_HELP)
    phase = serializers.CharField()
    phaseMessage = serializers.CharField(allow_blank=True)
    status = inline_serializer("NodePoolStatus", {"nodes": serializers.ListField(child=serializers.CharField())})
    createdBy = serializers.CharField(allow_blank=True)
    createdAt = serializers.DateTimeField()
    updatedBy = serializers.CharField(allow_blank=True)
    updatedAt = serializers.DateTimeField()
    deletedAt = serializers.DateTimeField(allow_null=True)


class NodeGpuResponse(serializers.Serializer):
    """One GPU's health and cordon."""

    index = serializers.IntegerField()
    uuid = serializers.CharField()
    healthy = serializers.BooleanField(help_text="False once the agent saw an NVML fault; nothing is placed on it.")
    healthMessage = serializers.CharField(allow_blank=True)
    migMode = serializers.BooleanField(allow_null=True, help_text="MIG enabled; null where not supported.")
    cordoned = serializers.BooleanField(help_text="An administrator's cordon: nothing new is placed on it.")
    draining = serializers.BooleanField(help_text="Drained: what ran on it was stopped too.")


class NodeConditionResponse(serializers.Serializer):
    """Run:ai's ``NodeStatusConditionDetails``."""

    type = serializers.CharField(help_text="GpuUnhealthy: one of the node's GPUs reported a fault.")
    reason = serializers.CharField()
    message = serializers.CharField()


class NodeTaintResponse(serializers.Serializer):
    """Run:ai's ``NodeTaint``."""

    key = serializers.CharField(
        help_text="node.kubernetes.io/unschedulable (NoSchedule): the node is cordoned, nothing new is placed "
        "there. tessera.io/draining (NoExecute): it is drained, what ran there was stopped too."
    )
    value = serializers.CharField(required=False)
    effect = serializers.ChoiceField(choices=["NoSchedule", "PreferNoSchedule", "NoExecute"])


class NodeResponse(serializers.Serializer):
    """Run:ai's ``Node``, with Tessera's ``gpuInfo.simulated``, ``gpuInfo.gpus`` and ``cpuInfo``. A cordoned or
    drained node shows it in ``taints``; a GPU the agent found faulty, in ``conditions``; each
    GPU's own health and cordon, in ``gpuInfo.gpus``."""

    id = serializers.CharField()
    name = serializers.CharField()
    clusterUuid = serializers.UUIDField()
    status = serializers.CharField()
    conditions = NodeConditionResponse(many=True)
    taints = NodeTaintResponse(many=True)
    nodePool = serializers.CharField()
    gpuInfo = inline_serializer(
        "NodeGpuInfo",
        {
            "gpuType": serializers.CharField(allow_null=True),
            "gpuCount": serializers.IntegerField(),
            "simulated": serializers.BooleanField(),
            "gpus": NodeGpuResponse(many=True),
        },
    )
    cpuInfo = inline_serializer(
        "NodeCpuInfo",
        {
            "cores": serializers.FloatField(allow_null=True, help_text="null: not reported"),
            "memory": serializers.CharField(allow_null=True, help_text="e.g. 65536Mi; null: not reported"),
        },
    )
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField(allow_null=True)


NODE_POOL_LIST = inline_serializer("NodePoolList", {"nodepools": NodePoolResponse(many=True), "next": NEXT})
NODE_LIST = inline_serializer("NodeList", {"nodes": NodeResponse(many=True), "next": NEXT})


class CordonResponse(serializers.Serializer):
    """A node's cordon and health, with each GPU's."""

    id = serializers.CharField()
    name = serializers.CharField()
    clusterUuid = serializers.UUIDField()
    cordoned = serializers.BooleanField()
    draining = serializers.BooleanField()
    gpus = NodeGpuResponse(many=True)


class _CordonViewSchema(OpenApiViewExtension):
    """Describes clusters/api/cordon_views.py's answers without touching that module."""

    def view_replacement(self) -> type:
        from clusters.api.cordon_views import CordonSerializer

        request = CordonSerializer if self.target_class.cordon else None

        class Described(self.target_class):  # type: ignore[name-defined]
            @extend_schema(request=request, responses={200: CordonResponse})
            def post(self, *args: object, **kwargs: object) -> object:
                return super().post(*args, **kwargs)

        return Described


class CordonViewSchema(_CordonViewSchema):
    target_class = "clusters.api.cordon_views.CordonView"


class UncordonViewSchema(_CordonViewSchema):
    target_class = "clusters.api.cordon_views.UncordonView"
