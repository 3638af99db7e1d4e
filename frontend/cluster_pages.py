"""Clusters, their node pools, nodes and devices. Adding a cluster shows the agent's install
command with its join token once, as ``POST /api/v1/clusters`` answers it."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts import audit
from accounts.access import may, require
from clusters import services
from clusters.api.representations import node_pool_representation
from clusters.api.views import ClusterSerializer, installation
from clusters.models import Cluster
from frontend.forms import attempt, page
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


@login_required
@page
def cluster_detail(request: HttpRequest, cluster_id: str) -> HttpResponse:
    cluster = get_object_or_404(Cluster.objects.restrict(request.user, "read"), pk=cluster_id)
    overview = next(c for c in cluster_overview(request.user) if c["cluster"].pk == cluster.pk)
    node_pools = cluster.node_pools.prefetch_related("nodes").select_related("cluster")
    pools = [node_pool_representation(p) for p in node_pools]
    nodes = cluster.nodes.select_related("node_pool").prefetch_related("gpus")
    context = {"cluster": cluster, "overview": overview, "pools": pools, "nodes": nodes}
    return render(request, "frontend/cluster_detail.html", context)
