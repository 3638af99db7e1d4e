"""Node pools (``/api/v1/node-pools``) and nodes (``/api/v1/nodes``): thin views over
``clusters.pools``, through the gate (``restrict``) and ``require``, audited."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.access import require
from clusters import pools
from clusters.api import schemas
from clusters.api.pool_serializers import NodePoolCreationSerializer, NodePoolUpdateSerializer
from clusters.api.representations import node_pool_representation, node_representation
from clusters.models import Node, NodePool
from controlplane import listing
from controlplane.idempotency import idempotent
from controlplane.listing import Field

POOL_FIELDS = {
    "id": Field("id", "int"),
    "name": Field("name"),
    "clusterId": Field("cluster_id", "uuid"),
    "labelKey": Field("label_key"),
    "labelValue": Field("label_value"),
    "createdAt": Field("created_at", "date"),
}
NODE_FIELDS = {"name": Field("name"), "clusterUuid": Field("cluster_id", "uuid"), "nodePool": Field("node_pool__name"),
               "status": Field("status")}  # fmt: skip


def _pools(request: Request) -> Any:
    return NodePool.objects.restrict(request.user, "read").select_related("cluster").prefetch_related("nodes")


def _actor(request: Request) -> str:
    return audit.actor_of(request.user)[1]


class NodePoolListView(APIView):
    @extend_schema(parameters=schemas.LIST_PARAMETERS, responses={200: schemas.NODE_POOL_LIST})
    def get(self, request: Request) -> Response:
        found = listing.page(_pools(request), request.query_params, POOL_FIELDS)
        return Response({"nodepools": [node_pool_representation(p) for p in found.items], "next": found.next})

    @extend_schema(
        parameters=[schemas.IDEMPOTENCY_KEY],
        request=NodePoolCreationSerializer,
        responses={201: schemas.NodePoolResponse},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = NodePoolCreationSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        cluster = serializer.validated_data["clusterId"]
        require(request.user, "create", "nodepools", cluster, f"cluster {cluster.name!r}")
        pool = pools.create_pool(cluster, serializer.validated_data["name"], serializer.settings(), _actor(request))
        audit.record(audit.Origin.of(request), "create", "nodepool", pool.pk, pool.name)
        return Response(node_pool_representation(_pools(request).get(pk=pool.pk)), status=status.HTTP_201_CREATED)


class NodePoolCountView(APIView):
    @extend_schema(parameters=schemas.COUNT_PARAMETERS, responses={200: schemas.COUNT})
    def get(self, request: Request) -> Response:
        pools_ = NodePool.objects.restrict(request.user, "read")
        return Response({"count": listing.narrowed(pools_, request.query_params, POOL_FIELDS).count()})


class NodePoolDetailView(APIView):
    @extend_schema(responses={200: schemas.NodePoolResponse})
    def get(self, request: Request, pool_id: int) -> Response:
        return Response(node_pool_representation(get_object_or_404(_pools(request), pk=pool_id)))

    @extend_schema(request=NodePoolUpdateSerializer, responses={200: schemas.NodePoolResponse})
    def put(self, request: Request, pool_id: int) -> Response:
        pool = get_object_or_404(_pools(request), pk=pool_id)
        require(request.user, "update", "nodepools", pool.cluster, f"cluster {pool.cluster.name!r}")
        serializer = NodePoolUpdateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        pools.update_pool(pool, serializer.settings(), _actor(request))
        audit.record(audit.Origin.of(request), "update", "nodepool", pool.pk, pool.name)
        return Response(node_pool_representation(_pools(request).get(pk=pool.pk)))

    @extend_schema(responses={204: schemas.NO_CONTENT})
    def delete(self, request: Request, pool_id: int) -> Response:
        pool = get_object_or_404(_pools(request), pk=pool_id)
        require(request.user, "delete", "nodepools", pool.cluster, f"cluster {pool.cluster.name!r}")
        pk = pool.pk
        pools.delete_pool(pool)
        audit.record(audit.Origin.of(request), "delete", "nodepool", pk, pool.name)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _nodes(request: Request) -> Any:
    return Node.objects.restrict(request.user, "read").select_related("node_pool").prefetch_related("gpus")


class NodeListView(APIView):
    @extend_schema(parameters=schemas.LIST_PARAMETERS, responses={200: schemas.NODE_LIST})
    def get(self, request: Request) -> Response:
        found = listing.page(_nodes(request), request.query_params, NODE_FIELDS)
        return Response({"nodes": [node_representation(n) for n in found.items], "next": found.next})


class NodeDetailView(APIView):
    @extend_schema(responses={200: schemas.NodeResponse})
    def get(self, request: Request, node_id: int) -> Response:
        return Response(node_representation(get_object_or_404(_nodes(request), pk=node_id)))


class NodeCountView(APIView):
    @extend_schema(parameters=schemas.COUNT_PARAMETERS, responses={200: schemas.COUNT})
    def get(self, request: Request) -> Response:
        nodes = Node.objects.restrict(request.user, "read")
        return Response({"count": listing.narrowed(nodes, request.query_params, NODE_FIELDS).count()})
