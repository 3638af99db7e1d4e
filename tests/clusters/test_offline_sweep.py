"""Clusters whose agent misses its heartbeats are marked offline with their nodes, by Celery."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from clusters import services, tasks
from clusters.models import Cluster, ClusterState, Node, NodeStatus
from tests.conftest import REPO, process_env

pytestmark = pytest.mark.django_db(transaction=True)


def connected_cluster(name: str, seen_seconds_ago: float) -> Cluster:
    cluster = services.register_cluster(name).cluster
    seen = timezone.now() - timedelta(seconds=seen_seconds_ago)
    Cluster.objects.filter(pk=cluster.pk).update(state=ClusterState.CONNECTED, last_seen=seen)
    Node.objects.create(cluster=cluster, name=f"{name}-node", status=NodeStatus.READY, last_seen=seen)
    return cluster


def test_only_silent_clusters_are_marked_offline():
    connected_cluster("silent", seen_seconds_ago=settings.TESSERA_HEARTBEAT_TIMEOUT + 5)
    connected_cluster("lively", seen_seconds_ago=1)

    assert services.mark_silent_clusters_offline() == ["silent"]

    states = {c.name: c.state for c in Cluster.objects.all()}
    assert states == {"silent": ClusterState.DISCONNECTED, "lively": ClusterState.CONNECTED}
    assert Node.objects.get(name="silent-node").status == NodeStatus.NOT_READY
    assert Node.objects.get(name="lively-node").status == NodeStatus.READY


def test_beat_schedules_the_sweep():
    entry = settings.CELERY_BEAT_SCHEDULE["mark-silent-clusters-offline"]
    assert entry["task"] == tasks.mark_silent_clusters_offline.name


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis: a real Celery worker needs a real broker")
def test_a_real_celery_worker_runs_the_sweep(tmp_path):
    connected_cluster("silent", seen_seconds_ago=settings.TESSERA_HEARTBEAT_TIMEOUT + 5)
    queue = f"sweep-test-{tmp_path.name}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "--pool", "solo", "--queues", queue,
         "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=REPO, env=process_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        result = tasks.mark_silent_clusters_offline.apply_async(queue=queue)
        assert result.get(timeout=60) == ["silent"]
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
    assert Cluster.objects.get(name="silent").state == ClusterState.DISCONNECTED
    assert "mark_silent_clusters_offline" in output
