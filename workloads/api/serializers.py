"""Validation of workload requests, in Run:ai's request shape (``TrainingCreationRequest``)."""

import re
import secrets
import uuid
from typing import Any

from rest_framework import serializers

from clusters.models import Project
from controlplane.serializers import StrictBooleanField, StrictCharField, StrictIntegerField, StrictSerializer
from workloads.services import TrainingRequest

# Kubernetes object names, as Run:ai requires for workloads.
NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FRACTION_FIELDS = ("gpuPortionRequest", "gpuPortionLimit", "gpuMemoryRequest", "gpuMemoryLimit", "migProfile")


class EnvironmentVariableSerializer(StrictSerializer):
    name = StrictCharField(max_length=256)
    value = StrictCharField(allow_blank=True, max_length=32768)
    accepted_fields = frozenset({"description"})

    def validate_name(self, value: str) -> str:
        if not ENV_NAME_PATTERN.match(value):
            raise serializers.ValidationError("Must be letters, digits and underscores, not starting with a digit.")
        return value


class ComputeSerializer(StrictSerializer):
    gpuDevicesRequest = StrictIntegerField(required=False, min_value=0, max_value=1024)
    gpuRequestType = StrictCharField(required=False)
    accepted_fields = frozenset(
        {"cpuCoreRequest", "cpuCoreLimit", "cpuMemoryRequest", "cpuMemoryLimit", "largeShmRequest", "extendedResources"}
        | set(FRACTION_FIELDS)
    )

    def to_internal_value(self, data: Any) -> Any:
        asked = [name for name in FRACTION_FIELDS if isinstance(data, dict) and name in data]
        if asked:
            raise serializers.ValidationError({asked[0]: ["GPU fractions are not supported yet; request whole GPUs."]})
        return super().to_internal_value(data)


class TrainingSpecSerializer(StrictSerializer):
    image = StrictCharField(required=False, allow_blank=True, max_length=500)
    command = StrictCharField(required=False, allow_blank=True, max_length=65536)
    args = StrictCharField(required=False, allow_blank=True, max_length=65536)
    environmentVariables = EnvironmentVariableSerializer(many=True, required=False)
    compute = ComputeSerializer(required=False)
    # The rest of Run:ai's training spec: part of the request shape, not acted on yet.
    accepted_fields = frozenset(
        {
            "annotations",
            "autoDeletionTimeAfterCompletionSeconds",
            "backoffLimit",
            "category",
            "completions",
            "createHomeDir",
            "exposedUrls",
            "imagePullPolicy",
            "imagePullSecrets",
            "labels",
            "nodeAffinityRequired",
            "nodePools",
            "nodeType",
            "parallelism",
            "podAffinity",
            "ports",
            "preemptibility",
            "priorityClass",
            "probes",
            "relatedUrls",
            "restartPolicy",
            "security",
            "stdin",
            "storage",
            "terminateAfterPreemption",
            "terminationGracePeriodSeconds",
            "tolerations",
            "tty",
            "workingDir",
        }
    )


class TrainingCreationSerializer(StrictSerializer):
    name = StrictCharField(max_length=50)
    useGivenNameAsPrefix = StrictBooleanField(required=False, default=False)
    projectId = StrictCharField()
    clusterId = StrictCharField(required=False)
    spec = TrainingSpecSerializer(required=False)
    accepted_fields = frozenset({"templateId"})

    def validate_name(self, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise serializers.ValidationError(
                "Must be lower-case letters, digits and '-', start with a letter and end with a letter or digit."
            )
        return value

    def validate_projectId(self, value: str) -> Project:
        # A project the caller may not see does not exist, as far as he can tell.
        request = self.context.get("request")
        projects = Project.objects.restrict(request.user if request else None, "read")
        project = projects.select_related("cluster", "department").filter(pk=value).first() if value.isdigit() else None
        if project is None:
            raise serializers.ValidationError(f"Project {value!r} does not exist.")
        return project

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        project: Project = attrs["projectId"]
        cluster_id = attrs.get("clusterId")
        if cluster_id is not None:
            try:
                same = uuid.UUID(cluster_id) == project.cluster_id
            except ValueError:
                raise serializers.ValidationError({"clusterId": ["Must be a cluster's UUID."]})
            if not same:
                raise serializers.ValidationError({"clusterId": [f"Project {project.name!r} is not on this cluster."]})
        return attrs

    def to_request(self) -> TrainingRequest:
        data = self.validated_data
        spec = data.get("spec", {})
        name = data["name"]
        if data["useGivenNameAsPrefix"]:
            name = f"{name}-{secrets.token_hex(3)}"
        raw = {**self.initial_data, "requestedName": data["name"]}
        return TrainingRequest(
            name=name,
            project=data["projectId"],
            raw=raw,
            image=spec.get("image", ""),
            command=spec.get("command", ""),
            args=spec.get("args", ""),
            environment={env["name"]: env["value"] for env in spec.get("environmentVariables", [])},
            gpu_devices=spec.get("compute", {}).get("gpuDevicesRequest", 0),
        )


class PageSerializer(StrictSerializer):
    """Run:ai's paging and filtering query parameters on list endpoints."""

    offset = serializers.IntegerField(required=False, min_value=0, default=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)
    accepted_fields = frozenset({"filterBy", "sortBy", "sortOrder", "deleted", "completed", "verbosity"})
