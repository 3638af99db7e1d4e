"""Pages. They read through the same services and representations as the API."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from clusters.models import Cluster
from workloads import services
from workloads.models import Workload
from workloads.representations import workload_representation


def home(request: HttpRequest) -> HttpResponse:
    return redirect("workload-page-list")


@login_required
def workload_list(request: HttpRequest) -> HttpResponse:
    live = Workload.objects.restrict(request.user, "read").live()
    workloads = [workload_representation(w) for w in live[:200]]
    clusters = Cluster.objects.restrict(request.user, "read").prefetch_related("nodes__gpus")
    return render(request, "frontend/workload_list.html", {"workloads": workloads, "clusters": clusters})


@login_required
def workload_detail(request: HttpRequest, workload_id: str) -> HttpResponse:
    workload = get_object_or_404(Workload.objects.restrict(request.user, "read").live(), pk=workload_id)
    context = {
        "workload": workload_representation(workload),
        "events": workload.events.all(),
        "stdout": services.read_logs(workload, "stdout"),
        "stderr": services.read_logs(workload, "stderr"),
    }
    return render(request, "frontend/workload_detail.html", context)
