"""Clusters (``/api/v1/clusters``, Run:ai paths and shapes): thin views over
``clusters.services``. Lists show only what the caller may read (``restrict``); every change asks
``require`` and is audited."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.access import require
from clusters import services
from clusters.api import schemas
from clusters.api.representations import cluster_representation
from clusters.api.serializers import NAME_PATTERN, NAME_RULE
from clusters.models import Cluster
from controlplane.serializers import StrictCharField, StrictSerializer


class ClusterSerializer(StrictSerializer):
    """``ClusterCreationRequest`` (``domain`` and ``version`` are kept, not acted on) and
    ``ClusterUpdateRequest``."""

    name = StrictCharField(max_length=63)
    accepted_fields = frozenset({"domain", "version"})

    def validate_name(self, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise serializers.ValidationError(NAME_RULE)
        return value


def _clusters(request: Request) -> Any:
    return Cluster.objects.restrict(request.user, "read").prefetch_related("nodes")


def _name(request: Request) -> str:
    serializer = ClusterSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["name"]


def installation(request: Request, new: services.NewCluster) -> dict[str, Any]:
    """How to start the new cluster's agent; the token in it is shown only this once."""
    server = request.build_absolute_uri("/").rstrip("/").replace("http", "ws", 1)
    command = (
        f"echo {new.token} > agent.token && python -m agent --server {server} "
        f"--cluster-id {new.cluster.pk} --token-file agent.token --state-dir ./agent-state"
    )
    return {"installationStr": command, "repositoryName": "", "chartRepoURL": "", "clientSecret": new.token}


class ClusterListView(APIView):
    @extend_schema(responses={200: schemas.ClusterResponse(many=True)})
    def get(self, request: Request) -> Response:
        return Response([cluster_representation(c) for c in _clusters(request)])

    @extend_schema(
        request=ClusterSerializer, responses={201: schemas.ClusterCreatedResponse}, examples=[schemas.NEW_CLUSTER]
    )
    def post(self, request: Request) -> Response:
        name = _name(request)
        require(request.user, "create", "cluster", None, "the account")
        new = services.create_cluster(name)
        audit.record(audit.Origin.of(request), "create", "cluster", new.cluster.pk, name)
        body = {**cluster_representation(new.cluster), "installationInfo": installation(request, new)}
        return Response(body, status=status.HTTP_201_CREATED)


class ClusterDetailView(APIView):
    @extend_schema(responses={200: schemas.ClusterResponse})
    def get(self, request: Request, cluster_id: str) -> Response:
        return Response(cluster_representation(get_object_or_404(_clusters(request), pk=cluster_id)))

    @extend_schema(request=ClusterSerializer, responses={200: schemas.ClusterResponse})
    def put(self, request: Request, cluster_id: str) -> Response:
        cluster = get_object_or_404(_clusters(request), pk=cluster_id)
        require(request.user, "update", "cluster", cluster, f"cluster {cluster.name!r}")
        services.rename_cluster(cluster, _name(request))
        audit.record(audit.Origin.of(request), "update", "cluster", cluster.pk, cluster.name)
        return Response(cluster_representation(cluster))

    @extend_schema(responses={204: schemas.NO_CONTENT})
    def delete(self, request: Request, cluster_id: str) -> Response:
        cluster = get_object_or_404(_clusters(request), pk=cluster_id)
        require(request.user, "delete", "cluster", cluster, f"cluster {cluster.name!r}")
        pk = cluster.pk
        services.delete_cluster(cluster)
        audit.record(audit.Origin.of(request), "delete", "cluster", pk, cluster.name)
        return Response(status=status.HTTP_204_NO_CONTENT)
