"""Validation of department and project requests, in Run:ai's shapes
(``DepartmentCreationRequest``, ``ProjectCreationRequest`` and their update requests)."""

import re
import uuid
from typing import Any

from rest_framework import serializers

from clusters.models import Cluster, Department, NodePool
from clusters.org import QuotaInput, Share, default_pool
from controlplane.serializers import StrictCharField, StrictNumberField, StrictSerializer

NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
NAME_RULE = "Must be lower-case letters, digits and '-', start with a letter and end with a letter or digit."
MIB_PER_UNIT = {"Mib": 1.0, "MB": 1e6 / 2**20, "GB": 1e9 / 2**20}
# Run:ai's organisation fields that Tessera keeps in the request shape but does not act on yet
# (a department's defaultNodePools among them: a project's are acted on).
ORG_ACCEPTED = frozenset({"schedulingRules", "defaultNodePools", "nodeTypes", "overtimeData"})
PROJECT_ACCEPTED = ORG_ACCEPTED - {"defaultNodePools"}


class ShareSerializer(StrictSerializer):
    deserved = StrictNumberField(required=False, allow_null=True, min_value=0)
    limit = StrictNumberField(required=False, allow_null=True, min_value=-1)
    overQuotaWeight = StrictNumberField(required=False, allow_null=True, min_value=0)

    def validate_limit(self, value: float | None) -> float | None:
        if value is not None and value < 0 and value != -1:
            raise serializers.ValidationError("Must be -1 (unlimited) or at least 0.")
        return value


class MemoryShareSerializer(ShareSerializer):
    units = serializers.ChoiceField(choices=sorted(MIB_PER_UNIT), required=False, default="Mib")


class NodePoolRefSerializer(StrictSerializer):
    id = StrictCharField(required=False, allow_null=True)
    name = StrictCharField(required=False, allow_null=True)


class ResourcesSerializer(StrictSerializer):
    nodePool = NodePoolRefSerializer(required=False, allow_null=True)
    gpu = ShareSerializer(required=False, allow_null=True)
    cpu = ShareSerializer(required=False, allow_null=True)
    memory = MemoryShareSerializer(required=False, allow_null=True)
    accepted_fields = frozenset({"priority"})


def _share(data: dict[str, Any] | None, default_deserved: float | None, scale: float = 1.0) -> Share:
    data = data or {}
    deserved = data.get("deserved", default_deserved)
    limit = data.get("limit")
    return Share(
        deserved=None if deserved is None else deserved * scale,
        limit=-1.0 if limit is None or limit == -1 else limit * scale,
        weight=1.0 if data.get("overQuotaWeight") is None else data["overQuotaWeight"],
    )


def _pool(cluster: Cluster, ref: dict[str, Any] | None, field: str) -> NodePool:
    """The node pool a resources entry names, by id or name; none named is the default pool."""
    pools = NodePool.objects.filter(cluster=cluster)
    ref = ref or {}
    if ref.get("id"):
        pool = pools.filter(pk=ref["id"]).first() if str(ref["id"]).isdigit() else None
        what = f"id {ref['id']!r}"
    else:
        name = ref.get("name") or NodePool.DEFAULT
        pool, what = (
            (default_pool(cluster) if name == NodePool.DEFAULT else pools.filter(name=name).first()),
            f"name {name!r}",
        )
    if pool is None:
        raise serializers.ValidationError(
            {field: {"nodePool": [f"Cluster {cluster.name!r} has no node pool with {what}."]}}
        )
    return pool


def quota_inputs(cluster: Cluster, resources: list[dict[str, Any]]) -> list[QuotaInput]:
    """Turn validated ``resources`` entries into quotas on the cluster's node pools."""
    quotas = []
    for index, entry in enumerate(resources):
        field = f"resources[{index}]"
        memory = entry.get("memory") or {}
        quotas.append(
            QuotaInput(
                pool=_pool(cluster, entry.get("nodePool"), field),
                field=field,
                gpu=_share(entry.get("gpu"), 0.0),
                cpu=_share(entry.get("cpu"), None),
                memory=_share(memory, None, MIB_PER_UNIT[memory.get("units", "Mib")]),
            )
        )
    return quotas


def readable_cluster(request: Any, value: str) -> Cluster:
    """The cluster with that id, if the caller may see it: one he may not does not exist, as far
    as he can tell."""
    try:
        key = uuid.UUID(value)
    except ValueError:
        raise serializers.ValidationError("Must be a cluster's UUID.") from None
    cluster = Cluster.objects.restrict(request.user, "read").filter(pk=key).first()
    if cluster is None:
        raise serializers.ValidationError(f"Cluster {value!r} does not exist.")
    return cluster


class OrgUnitUpdateSerializer(StrictSerializer):
    description = StrictCharField(required=False, allow_blank=True, max_length=500, default="")
    resources = ResourcesSerializer(many=True, required=False, default=list)
    accepted_fields = ORG_ACCEPTED


class OrgUnitCreationSerializer(OrgUnitUpdateSerializer):
    name = StrictCharField(max_length=63)
    clusterId = StrictCharField()

    def validate_name(self, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise serializers.ValidationError(NAME_RULE)
        return value

    def validate_clusterId(self, value: str) -> Cluster:
        return readable_cluster(self.context["request"], value)


class ProjectUpdateSerializer(OrgUnitUpdateSerializer):
    defaultNodePools = serializers.ListField(
        child=StrictCharField(max_length=63), required=False, allow_null=True, default=None, max_length=64
    )
    accepted_fields = PROJECT_ACCEPTED


class ProjectCreationSerializer(ProjectUpdateSerializer, OrgUnitCreationSerializer):
    parentId = StrictCharField(required=False, allow_null=True)
    requestedNamespace = StrictCharField(required=False, allow_blank=True, allow_null=True)
    accepted_fields = PROJECT_ACCEPTED | {"enforceRunaiScheduler"}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        cluster: Cluster = attrs["clusterId"]
        parent = attrs.get("parentId")
        departments = Department.objects.restrict(self.context["request"].user, "read").filter(cluster=cluster)
        if parent:
            department = departments.filter(pk=parent).first() if parent.isdigit() else None
        else:  # as Run:ai: a project given no department goes to the cluster's default one
            department = departments.filter(name="default").first()
        if department is None:
            problem = f"has no department {parent!r}" if parent else "has no default department; name one"
            raise serializers.ValidationError({"parentId": [f"Cluster {cluster.name!r} {problem}."]})
        namespace = attrs.get("requestedNamespace")
        if namespace and namespace != f"runai-{attrs['name']}":
            raise serializers.ValidationError({"requestedNamespace": ["Tessera names it runai-<project name>."]})
        attrs["department"] = department
        return attrs
