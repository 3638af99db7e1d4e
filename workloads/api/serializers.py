"""Validation of workload requests, in Run:ai's request shape (``TrainingCreationRequest``)."""

import re
import secrets
import uuid
from typing import Any

from rest_framework import serializers

from clusters.models import NodePool, Project
from controlplane.serializers import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictNumberField,
    StrictSerializer,
)
from workloads.services import TrainingRequest

# Kubernetes object names, as Run:ai requires for workloads.
NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MEMORY_PATTERN = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?)(?P<unit>M|Mi|G|Gi)$")
MEMORY_UNITS = {"M": 10**6, "Mi": 2**20, "G": 10**9, "Gi": 2**30}


class EnvironmentVariableSerializer(StrictSerializer):
    name = StrictCharField(max_length=256)
    value = StrictCharField(allow_blank=True, max_length=32768)
    accepted_fields = frozenset({"description"})

    def validate_name(self, value: str) -> str:
        if not ENV_NAME_PATTERN.match(value):
            raise serializers.ValidationError("Must be letters, digits and underscores, not starting with a digit.")
        return value


def memory_mib(quantity: str) -> int:
    """A Kubernetes memory quantity ("20G", "512Mi") in MiB, rounded up."""
    match = MEMORY_PATTERN.match(quantity)
    if match is None:
        raise serializers.ValidationError("Must be a quantity such as 20G, 20Gi, 512M or 512Mi.")
    number, unit = float(match["number"]), match["unit"]
    mib = number * MEMORY_UNITS[unit] / 2**20
    if mib < 1:
        raise serializers.ValidationError("Must be at least 1Mi.")
    return int(-(-mib // 1))


class ComputeSerializer(StrictSerializer):
    """Whole GPUs (``gpuDevicesRequest``) or fractions: ``gpuDevicesRequest`` devices (default 1)
    each shared at ``gpuPortionRequest`` (up to ``gpuPortionLimit``) or by ``gpuMemoryRequest``."""

    gpuDevicesRequest = StrictIntegerField(required=False, min_value=0, max_value=1024)
    gpuRequestType = serializers.ChoiceField(choices=["portion", "memory"], required=False)
    gpuPortionRequest = StrictNumberField(required=False, min_value=0, max_value=1)
    gpuPortionLimit = StrictNumberField(required=False, min_value=0, max_value=1)
    gpuMemoryRequest = StrictCharField(required=False)
    gpuMemoryLimit = StrictCharField(required=False)
    cpuCoreRequest = StrictNumberField(required=False, min_value=0, max_value=100_000)
    cpuMemoryRequest = StrictCharField(required=False)
    # Limits are the runtime's to enforce, which it does not yet: kept, not acted on.
    accepted_fields = frozenset({"cpuCoreLimit", "cpuMemoryLimit", "largeShmRequest", "extendedResources"})

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and data.get("migProfile") is not None:
            raise serializers.ValidationError({"migProfile": ["MIG profiles are not supported; request a portion."]})
        if isinstance(data, dict):
            data = {key: value for key, value in data.items() if key != "migProfile"}
        return super().to_internal_value(data)

    def validate_gpuMemoryRequest(self, value: str) -> int:
        return memory_mib(value)

    def validate_gpuMemoryLimit(self, value: str) -> int:
        return memory_mib(value)

    def validate_cpuCoreRequest(self, value: float) -> int:
        milli = round(value * 1000)
        if value and not milli:
            raise serializers.ValidationError("Must be 0 or at least 0.001 (one millicore).")
        return milli

    def validate_cpuMemoryRequest(self, value: str) -> int:
        return memory_mib(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        portion, memory = attrs.get("gpuPortionRequest"), attrs.get("gpuMemoryRequest")
        if portion is not None and memory is not None:
            raise serializers.ValidationError({"gpuMemoryRequest": ["Give a portion or a memory request, not both."]})
        if portion is not None and portion <= 0:
            raise serializers.ValidationError({"gpuPortionRequest": ["Must be more than 0."]})
        wanted = "portion" if portion is not None else "memory" if memory is not None else None
        asked = attrs.get("gpuRequestType")
        if asked is not None and wanted is not None and asked != wanted:
            raise serializers.ValidationError({"gpuRequestType": [f"Is {asked!r} but the request gives {wanted}."]})
        limit = attrs.get("gpuPortionLimit")
        if limit is not None and (portion is None or limit < portion):
            raise serializers.ValidationError({"gpuPortionLimit": ["Must come with gpuPortionRequest, at least it."]})
        memory_limit = attrs.get("gpuMemoryLimit")
        if memory_limit is not None and (memory is None or memory_limit < memory):
            raise serializers.ValidationError({"gpuMemoryLimit": ["Must come with gpuMemoryRequest, at least it."]})
        if wanted is not None and attrs.get("gpuDevicesRequest") == 0:
            raise serializers.ValidationError({"gpuDevicesRequest": ["A fraction needs at least one device."]})
        return attrs


class ToolPortSerializer(StrictSerializer):
    """One entry of Run:ai's ``exposedUrls`` or ``ports``: a tool's port inside the workload. The
    runtime gives it a port on the node and the workload reports the URL."""

    container = StrictIntegerField(min_value=1, max_value=65535)
    toolType = StrictCharField(required=False, allow_blank=True, max_length=63)
    toolName = StrictCharField(required=False, allow_blank=True, max_length=63)
    accepted_fields = frozenset(
        {"url", "authorizedUsers", "authorizedGroups", "customUrl", "serviceType", "external", "name"}
    )


PRIORITY_CLASSES = {"train": 50, "interactive-preemptible": 75, "build": 100, "inference": 125}


class TrainingSpecSerializer(StrictSerializer):
    image = StrictCharField(required=False, allow_blank=True, max_length=500)
    command = StrictCharField(required=False, allow_blank=True, max_length=65536)
    args = StrictCharField(required=False, allow_blank=True, max_length=65536)
    environmentVariables = EnvironmentVariableSerializer(many=True, required=False)
    compute = ComputeSerializer(required=False)
    priorityClass = serializers.ChoiceField(choices=sorted(PRIORITY_CLASSES), required=False)
    preemptibility = serializers.ChoiceField(choices=["preemptible", "non-preemptible"], required=False)
    # In order of preference; checked against the project's cluster by the creation request.
    nodePools = serializers.ListField(child=StrictCharField(max_length=63), required=False, max_length=64)
    exposedUrls = ToolPortSerializer(many=True, required=False)
    ports = ToolPortSerializer(many=True, required=False)
    # The rest of Run:ai's training spec: part of the request shape, not acted on yet.
    accepted_fields = frozenset(
        {
            "annotations",
            "autoDeletionTimeAfterCompletionSeconds",
            "backoffLimit",
            "category",
            "completions",
            "createHomeDir",
            "imagePullPolicy",
            "imagePullSecrets",
            "labels",
            "nodeAffinityRequired",
            "nodeType",
            "parallelism",
            "podAffinity",
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


class InferenceSpecSerializer(TrainingSpecSerializer):
    # Serving settings of Run:ai's inference spec: part of the request shape, not acted on yet.
    accepted_fields = TrainingSpecSerializer.accepted_fields | {"servingPort", "autoscaling", "servingConfiguration"}


DISTRIBUTED_FRAMEWORKS = ("MPI", "PyTorch", "TF", "XGBoost", "JAX")
MIN_WORKERS = 2


class DistributedSpecSerializer(TrainingSpecSerializer):
    """A distributed training's spec: the trainings' fields, the compute request per worker, and
    ``numWorkers`` processes run as one gang."""

    numWorkers = StrictIntegerField(
        min_value=MIN_WORKERS,
        max_value=1024,
        error_messages={
            "required": "Give the number of workers (at least 2).",
            "min_value": "A distributed training runs at least {min_value} workers; submit a training for one.",
        },
    )
    distributedFramework = serializers.ChoiceField(choices=DISTRIBUTED_FRAMEWORKS, required=False)
    # Framework settings of Run:ai's distributed spec: part of the request shape, not acted on yet.
    accepted_fields = TrainingSpecSerializer.accepted_fields | {
        "cleanPodPolicy",
        "maxReplicas",
        "minReplicas",
        "mpiLauncherCreationPolicy",
        "slotsPerWorker",
        "sshAuthMountPath",
    }


class TrainingCreationSerializer(StrictSerializer):
    """``TrainingCreationRequest``; the workspace and inference ones differ in type and defaults."""

    workload_type = "Training"
    default_priority_class = "train"

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
        wanted = attrs.get("spec", {}).get("nodePools") or []
        known = set(NodePool.objects.filter(cluster_id=project.cluster_id).values_list("name", flat=True))
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise serializers.ValidationError(
                {"spec": {"nodePools": [f"Cluster {project.cluster.name!r} has no node pool {unknown[0]!r}."]}}
            )
        return attrs

    def workers(self, spec: dict[str, Any]) -> int:
        return 1

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
            workload_type=self.workload_type,
            workers=self.workers(spec),
            node_pools=spec.get("nodePools") or [],
            **compute_request(spec, self.default_priority_class),
        )


class WorkspaceCreationSerializer(TrainingCreationSerializer):
    """``WorkspaceCreationRequest``: interactive, so ``build`` priority and not preemptible."""

    workload_type = "Workspace"
    default_priority_class = "build"


class InferenceCreationSerializer(TrainingCreationSerializer):
    """``InferenceCreationRequest``: ``inference`` priority, not preemptible."""

    workload_type = "Inference"
    default_priority_class = "inference"
    spec = InferenceSpecSerializer(required=False)


class DistributedCreationSerializer(TrainingCreationSerializer):
    """``DistributedCreationRequest``: a training of ``spec.numWorkers`` workers. Every worker runs
    the spec, so a separate ``masterSpec`` is refused rather than silently not run."""

    workload_type = "Distributed"
    spec = DistributedSpecSerializer()
    masterSpecSameAsWorker = StrictBooleanField(required=False)
    masterSpec = serializers.JSONField(required=False)

    def validate_masterSpec(self, value: Any) -> Any:
        raise serializers.ValidationError(
            "Tessera runs every process of a distributed training from spec; "
            "leave masterSpec out (masterSpecSameAsWorker)."
        )

    def validate_masterSpecSameAsWorker(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Tessera runs every process of a distributed training from spec.")
        return value

    def workers(self, spec: dict[str, Any]) -> int:
        return spec["numWorkers"]


def compute_request(spec: dict[str, Any], default_priority_class: str = "train") -> dict[str, Any]:
    """The validated spec's GPU request, priority and preemptibility as ``TrainingRequest`` fields."""
    compute = spec.get("compute", {})
    fractional = "gpuPortionRequest" in compute or "gpuMemoryRequest" in compute
    priority_class = spec.get("priorityClass", default_priority_class)
    # As Run:ai: training is preemptible unless told otherwise, interactive and inference are not.
    preemptible = spec.get("preemptibility", "preemptible" if priority_class in ("train", "interactive-preemptible")
                           else "non-preemptible") == "preemptible"  # fmt: skip
    return {
        "gpu_devices": compute.get("gpuDevicesRequest", 1 if fractional else 0),
        "gpu_portion": compute.get("gpuPortionRequest"),
        "gpu_portion_limit": compute.get("gpuPortionLimit"),
        "gpu_memory_mib": compute.get("gpuMemoryRequest"),
        "cpu_milli": compute.get("cpuCoreRequest") or None,
        "memory_mib": compute.get("cpuMemoryRequest"),
        "priority_class": priority_class,
        "priority": PRIORITY_CLASSES[priority_class],
        "preemptible": preemptible,
    }
