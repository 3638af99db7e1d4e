"""The overview and the cluster pages: each cluster's GPUs per node pool (total, allocated by
running work, in use as the agent measures it, idle) and the queue of pending work with its
reasons; charts read the metrics API."""

import re

import pytest
from django.utils import timezone

from clusters.models import Gpu, Node
from tests.frontend.pages import field_error, has_button
from usage.models import DeviceSample
from workloads.models import Workload

pytestmark = pytest.mark.django_db


def pool_row(response, cluster: str, pool: str) -> list[str]:
    page = response.content.decode()
    card = re.search(rf'data-cluster="{cluster}".*?</article>', page, re.S).group(0)
    row = re.search(rf'<tr data-pool="{pool}">(.*?)</tr>', card, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


@pytest.fixture
def node(site) -> Node:
    node = Node.objects.create(cluster=site.cluster, name="n1", node_pool=site.cluster.node_pools.get(name="default"))
    for index in range(4):
        Gpu.objects.create(node=node, index=index, uuid=f"GPU-{index}", model="H100", memory_mib=81920)
    return node


def test_the_overview_counts_gpus_per_pool_and_lists_what_waits_and_why(admin, site, node):
    Workload.objects.create(name="running", project=site.project, cluster=site.cluster, phase="Running",
                            node_name="n1", gpu_devices=2, allocated_gpus=["GPU-0", "GPU-1"])  # fmt: skip
    Workload.objects.create(name="half", project=site.project, cluster=site.cluster, phase="Running",
                            node_name="n1", gpu_devices=1, gpu_portion=0.5, allocated_gpus=["GPU-2"])  # fmt: skip
    Workload.objects.create(name="waiting", project=site.project, cluster=site.cluster, phase="Pending",
                            phase_message="not enough GPUs in node pool default", gpu_devices=4)  # fmt: skip
    now = timezone.now()
    for index, utilisation in enumerate([90.0, 40.0, 0.0, 0.0]):
        DeviceSample.objects.create(cluster=site.cluster, node="n1", gpu_uuid=f"GPU-{index}", gpu_index=index, at=now,
                                    interval_seconds=10, gpu_allocation=0, memory_total_bytes=2**30,
                                    gpu_utilization=utilisation)  # fmt: skip

    page = admin.get("/overview/")

    # pool, GPUs, allocated, in use, idle
    assert pool_row(page, "lab", "default")[:5] == ["default", "4", "2.5", "2", "1.5"]
    pending = re.search(r'<table id="pending">(.*?)</table>', page.content.decode(), re.S).group(1)
    assert "waiting" in pending and "not enough GPUs in node pool default" in pending and "running" not in pending
    assert f'data-metrics-url="/api/v1/clusters/{site.cluster.pk}/metrics"' in page.content.decode()


def test_in_use_is_unknown_where_the_agent_measures_no_utilisation(admin, site, node):
    DeviceSample.objects.create(cluster=site.cluster, node="n1", gpu_uuid="GPU-0", gpu_index=0, at=timezone.now(),
                                interval_seconds=10, gpu_allocation=1, memory_total_bytes=2**30)  # fmt: skip

    assert pool_row(admin.get("/overview/"), "lab", "default")[3] == "—"


def test_a_cluster_page_shows_its_nodes_devices_and_pools(admin, site, node):
    node.simulated = True
    node.save()

    page = admin.get(f"/clusters/{site.cluster.pk}/").content.decode()

    assert "n1" in page and "GPU-3" in page and "H100" in page and 'class="badge simulated"' in page
    assert "every node no other pool takes" in page


def test_a_researcher_sees_only_his_projects_cluster_and_queue(researcher, admin, site, django_user_model):
    from clusters import services

    other = services.register_cluster("elsewhere").cluster
    project = services.ensure_default_organisation(other)
    Workload.objects.create(name="not-his", project=project, cluster=other, phase="Pending")

    page = researcher.get("/overview/").content.decode()

    assert 'data-cluster="lab"' in page and 'data-cluster="elsewhere"' not in page and "not-his" not in page


def test_an_administrator_adds_a_node_pool_that_takes_nodes_by_label(admin, site, node):
    from clusters.models import NodePool

    form = {"name": "big", "labelKey": "kubernetes.io/hostname", "labelValue": "n1", "placementStrategy.gpu": "spread",
            "placementStrategy.cpu": "binpack"}  # fmt: skip
    added = admin.post(f"/clusters/{site.cluster.pk}/", form)

    assert added.status_code == 302
    pool = NodePool.objects.get(name="big")
    node.refresh_from_db()
    assert (pool.gpu_placement, node.node_pool) == ("spread", pool)
    refused = admin.post(f"/clusters/{site.cluster.pk}/", {"name": "big", "labelKey": "", "labelValue": "x"})
    assert refused.status_code == 400 and field_error(refused, "labelKey")


def test_a_viewer_cannot_add_a_node_pool(viewer, site):
    page = viewer.get(f"/clusters/{site.cluster.pk}/")
    assert page.status_code == 200 and not has_button(page, "Add node pool")

    forged = viewer.post(f"/clusters/{site.cluster.pk}/", {"name": "big", "labelKey": "a", "labelValue": "b"})

    assert forged.status_code == 403 and not site.cluster.node_pools.filter(name="big").exists()
