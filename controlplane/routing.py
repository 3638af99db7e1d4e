"""Websocket routes. Paths are relative to the prefixes set in ``controlplane.asgi``."""

from django.urls import path

from clusters.consumers import AgentConsumer
from workloads.consumers import WorkloadUpdatesConsumer

agent_urlpatterns = [
    path("v1/clusters/<uuid:cluster_id>/connect", AgentConsumer.as_asgi()),
]

browser_urlpatterns = [
    path("workloads/", WorkloadUpdatesConsumer.as_asgi()),
]
