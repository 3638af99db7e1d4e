"""Cordoning and draining (``/api/v1/nodes/{id}/cordon`` and ``.../gpus/{index}/cordon``, and
``uncordon``): nothing new is placed on a cordoned node or GPU; ``{"drain": true}`` also stops
what runs there. Thin views over ``clusters.services.set_cordon``, through the gate, audited."""

from typing import Any

from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.access import require
from clusters import services
from clusters.api.representations import gpu_state
from clusters.models import Gpu, Node


class CordonSerializer(serializers.Serializer):
    drain = serializers.BooleanField(default=False, help_text="Also stop the workloads running there.")


def cordon_representation(node: Node) -> dict[str, Any]:
    """A node's cordon and health, with each GPU's."""
    return {
        "id": str(node.pk),
        "name": node.name,
        "clusterUuid": str(node.cluster_id),
        "cordoned": node.cordoned,
        "draining": node.draining,
        "gpus": [gpu_state(gpu) for gpu in node.gpus.order_by("index")],
    }


def _node(request: Request, node_id: int) -> Node:
    node = get_object_or_404(Node.objects.restrict(request.user, "read").select_related("cluster"), pk=node_id)
    require(request.user, "update", "nodes", node.cluster, f"cluster {node.cluster.name!r}")
    return node


def _drain(request: Request) -> bool:
    serializer = CordonSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return bool(serializer.validated_data["drain"])


class _CordonView(APIView):
    cordon = True

    def post(self, request: Request, node_id: int, index: int | None = None) -> Response:
        node = _node(request, node_id)
        drain = _drain(request) if self.cordon else False
        target: Node | Gpu = node if index is None else get_object_or_404(node.gpus, index=index)
        services.set_cordon(target, self.cordon, drain)
        action = ("drain" if drain else "cordon") if self.cordon else "uncordon"
        name = node.name if index is None else f"{node.name}/gpu {index}"
        audit.record(audit.Origin.of(request), action, "node" if index is None else "gpu", target.pk, name)
        return Response(cordon_representation(node))


class CordonView(_CordonView):
    cordon = True


class UncordonView(_CordonView):
    cordon = False
