"""Clusters whose agent misses its heartbeats are marked offline with their nodes, by Celery."""

import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from clusters import services, tasks
from clusters.models import Cluster, ClusterState, Node, NodeStatus
from tests.conftest import REPO, process_env, wait_until

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


needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis: a real Celery worker needs a real broker")


def celery(*args: str, queue: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "controlplane", *args, "--loglevel", "INFO"],
        cwd=REPO,
        env=process_env(TESSERA_CELERY_QUEUE=queue, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    return process.communicate(timeout=20)[0].decode(errors="replace")


@needs_redis
def test_a_real_celery_worker_runs_the_sweep(tmp_path):
    connected_cluster("silent", seen_seconds_ago=settings.TESSERA_HEARTBEAT_TIMEOUT + 5)
    queue = f"sweep-test-{uuid.uuid4().hex[:8]}"
    worker = celery(
        "worker", "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", queue=queue
    )
    try:
        result = tasks.mark_silent_clusters_offline.apply_async(queue=queue)
        assert result.get(timeout=60) == ["silent"]
    finally:
        output = stop(worker)
    assert Cluster.objects.get(name="silent").state == ClusterState.DISCONNECTED
    assert "mark_silent_clusters_offline" in output


@needs_redis
def test_beat_and_a_worker_mark_a_silent_cluster_offline_on_their_own(tmp_path):
    connected_cluster("silent", seen_seconds_ago=settings.TESSERA_HEARTBEAT_TIMEOUT + 5)
    queue = f"sweep-test-{uuid.uuid4().hex[:8]}"
    worker = celery(
        "worker", "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", queue=queue
    )
    beat = celery("beat", "--schedule", str(tmp_path / "beat-schedule"), queue=queue, TESSERA_OFFLINE_SWEEP_SECONDS="1")
    try:
        wait_until(
            lambda: Cluster.objects.get(name="silent").state == ClusterState.DISCONNECTED,
            timeout=60,
            what="beat to schedule the sweep and the worker to run it",
        )
    finally:
        beat_output, worker_output = stop(beat), stop(worker)
    assert "mark-silent-clusters-offline" in beat_output or "mark_silent_clusters_offline" in beat_output
    assert "mark_silent_clusters_offline" in worker_output
