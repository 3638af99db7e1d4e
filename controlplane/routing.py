"""Websocket routes. Agents and browsers authenticate differently, so each route carries its own
middleware."""

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import WebsocketConsumer
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path, re_path

from clusters.consumers import AgentConsumer
from workloads.consumers import WorkloadUpdatesConsumer


def for_browsers(consumer: Any) -> Any:
    """Browsers: the session cookie, and only from our own origin."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(consumer))


class UnknownPathConsumer(WebsocketConsumer):
    """Refuses the handshake (403) for a path we do not serve, instead of failing with a 500."""

    def connect(self) -> None:
        self.close()


websocket_urlpatterns = [
    # Agents authenticate with their cluster token; they send no cookie or Origin.
    path("agent/v1/clusters/<uuid:cluster_id>/connect", AgentConsumer.as_asgi()),
    path("ws/workloads/", for_browsers(WorkloadUpdatesConsumer.as_asgi())),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
