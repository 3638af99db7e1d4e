"""Clusters, their node pools, nodes and devices. Adding a cluster shows the agent's install
command with its join token once, as ``POST /api/v1/clusters`` answers it."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts import audit
from accounts.access import may, require
from clusters import pools as pool_services
from clusters import services
from clusters.api.pool_serializers import NodePoolCreationSerializer
from clusters.api.representations import node_pool_representation
from clusters.api.views import ClusterSerializer, installation
from clusters.models import Cluster, PlacementStrategy
from frontend.forms import attempt, page, request_body
from frontend.usage import cluster_overview


def _add_cluster(request: HttpRequest) -> dict:
    """What the API's POST does, for a form: validate, ask the gate, create, audit."""
    serializer = ClusterSerializer(data={"name": request.POST.get("name", "")})
    serializer.is_valid(raise_exception=True)
    name = serializer.validated_data["name"]
    require(request.user, "create", "cluster", None, "the account")
    new = services.create_cluster(name)
    audit.record(audit.Origin.of(request), "create", "cluster", new.cluster.pk, name)
    return {"cluster": new.cluster, **installation(request, new)}


@login_required
@page
def cluster_list(request: HttpRequest) -> HttpResponse:
    added, errors = None, {}
    if request.method == "POST":
        added, errors = attempt(lambda: _add_cluster(request), ["name"])
    context = {
        "clusters": cluster_overview(request.user),
        "added": added,
        "errors": errors,
        "values": request.POST if errors else {},
        "may_create": may(request.user, "create", "cluster"),
    }
    response = render(request, "frontend/cluster_list.html", context, status=400 if errors else 200)
    response["Cache-Control"] = "no-store"  # the join token is shown once
    return response


POOL_FIELDS = ["name", "labelKey", "labelValue", "placementStrategy.gpu", "placementStrategy.cpu"]


def _add_pool(request: HttpRequest, cluster: Cluster) -> Any:
    """What ``POST /api/v1/node-pools`` does, for a form: validate, ask the gate, create, audit."""
    body = {**request_body(request.POST), "clusterId": str(cluster.pk)}
    serializer = NodePoolCreationSerializer(data=body, context={"request": request})
    serializer.is_valid(raise_exception=True)
    require(request.user, "create", "nodepools", cluster, f"cluster {cluster.name!r}")
    actor = audit.actor_of(request.user)[1]
    pool = pool_services.create_pool(cluster, serializer.validated_data["name"], serializer.settings(), actor)
    audit.record(audit.Origin.of(request), "create", "nodepool", pool.pk, pool.name)
    return pool


@login_required
@page
def cluster_detail(request: HttpRequest, cluster_id: str) -> HttpResponse:
    cluster = get_object_or_404(Cluster.objects.restrict(request.user, "read"), pk=cluster_id)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        pool, errors = attempt(lambda: _add_pool(request, cluster), POOL_FIELDS)
        if pool is not None:
            messages.success(request, f"Node pool {pool.name!r} added; nodes labelled {pool.label_key}="
                                      f"{pool.label_value} join it.")  # fmt: skip
            return redirect("cluster-page-detail", cluster_id=cluster.pk)
    overview = next(c for c in cluster_overview(request.user) if c["cluster"].pk == cluster.pk)
    node_pools = cluster.node_pools.prefetch_related("nodes").select_related("cluster")
    pools = [node_pool_representation(p) for p in node_pools]
    nodes = cluster.nodes.select_related("node_pool").prefetch_related("gpus")
    binpack = PlacementStrategy.BINPACK.value
    context = {
        "cluster": cluster,
        "overview": overview,
        "pools": pools,
        "nodes": nodes,
        "errors": errors,
        "values": request.POST if errors else {"placementStrategy.gpu": binpack, "placementStrategy.cpu": binpack},
        "placements": PlacementStrategy.choices,
        "may_create_pool": may(request.user, "create", "nodepools", cluster),
    }
    return render(request, "frontend/cluster_detail.html", context, status=400 if errors else 200)
