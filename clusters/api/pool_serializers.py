"""Validation of node pool requests, in Run:ai's shapes (``NodepoolCreateFields``,
``NodepoolUpdateFields``)."""

from typing import Any

from rest_framework import serializers

from clusters.api.serializers import NAME_PATTERN, NAME_RULE, readable_cluster
from clusters.models import GpuComputeMode, PlacementStrategy
from clusters.pools import PoolSettings
from controlplane.serializers import StrictCharField, StrictIntegerField, StrictSerializer

# Run:ai's node pool fields that Tessera keeps in the request shape but does not act on yet.
POOL_ACCEPTED = frozenset(
    {
        "gpuNetworkAccelerationLabelKey",
        "gpuNetworkAccelerationDetection",
        "gpuResourceOptimization",
        "schedulingConfiguration",
        "networkTopologyId",
    }
)

COMPUTE_MODE_HELP = (
    "How GPU fractions on the pool's MPS nodes share a device's compute: strict caps each at its portion "
    "(CUDA_MPS_ACTIVE_THREAD_PERCENTAGE); fair (the default) time-slices it."
)


class PlacementSerializer(StrictSerializer):
    gpu = serializers.ChoiceField(choices=PlacementStrategy.values, required=False, default=PlacementStrategy.BINPACK)
    cpu = serializers.ChoiceField(choices=PlacementStrategy.values, required=False, default=PlacementStrategy.BINPACK)


class NodePoolUpdateSerializer(StrictSerializer):
    labelKey = StrictCharField(required=False, allow_blank=True, max_length=253, default="")
    labelValue = StrictCharField(required=False, allow_blank=True, max_length=63, default="")
    # Tessera does not over-provision pools; 1 (the default) is the only ratio it accepts.
    overProvisioningRatio = StrictIntegerField(required=False, min_value=1, max_value=1)
    placementStrategy = PlacementSerializer(required=False)
    # Tessera's own: Run:ai sets its time-slicing mode for the whole cluster, not per pool.
    gpuComputeMode = serializers.ChoiceField(
        choices=GpuComputeMode.values, required=False, default=GpuComputeMode.FAIR, help_text=COMPUTE_MODE_HELP
    )
    accepted_fields = POOL_ACCEPTED

    def settings(self) -> PoolSettings:
        """The validated request as pool settings."""
        data = self.validated_data
        placement = data.get("placementStrategy") or {
            "gpu": PlacementStrategy.BINPACK,
            "cpu": PlacementStrategy.BINPACK,
        }
        return PoolSettings(
            data["labelKey"], data["labelValue"], placement["gpu"], placement["cpu"], data["gpuComputeMode"]
        )


class NodePoolCreationSerializer(NodePoolUpdateSerializer):
    name = StrictCharField(max_length=63)
    clusterId = StrictCharField()
    labelKey = StrictCharField(max_length=253)
    labelValue = StrictCharField(max_length=63)

    def validate_name(self, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise serializers.ValidationError(NAME_RULE)
        return value

    def validate_clusterId(self, value: str) -> Any:
        return readable_cluster(self.context["request"], value)
