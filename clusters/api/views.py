"""Read endpoints for clusters (Run:ai paths and shapes). Each list shows only what the caller
may read (``restrict``)."""

from django.shortcuts import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clusters.api.representations import cluster_representation
from clusters.models import Cluster


class ClusterListView(APIView):
    def get(self, request: Request) -> Response:
        clusters = Cluster.objects.restrict(request.user, "read").prefetch_related("nodes")
        return Response([cluster_representation(c) for c in clusters])


class ClusterDetailView(APIView):
    def get(self, request: Request, cluster_id: str) -> Response:
        cluster = get_object_or_404(
            Cluster.objects.restrict(request.user, "read").prefetch_related("nodes"), pk=cluster_id
        )
        return Response(cluster_representation(cluster))
