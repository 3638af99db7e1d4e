"""``GET /healthz``: 200 once the database and the channel layer answer."""

import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse

from clusters.services import connected_cluster_count


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return None
    except Exception as exc:  # any driver error means "not ready"
        return f"database: {exc}"


def _check_channel_layer() -> str | None:
    layer = get_channel_layer()
    if layer is None:
        return "channel layer: not configured"
    channel = f"healthz.{uuid.uuid4().hex}"
    try:
        async_to_sync(layer.send)(channel, {"type": "healthz"})
        message = async_to_sync(layer.receive)(channel)
    except Exception as exc:
        return f"channel layer: {exc}"
    return None if message.get("type") == "healthz" else "channel layer: message lost"


def healthz(request: HttpRequest) -> JsonResponse:
    problems = [p for p in (_check_database(), _check_channel_layer()) if p]
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    agents = connected_cluster_count()
    return JsonResponse({"status": "ok", "agentConnected": agents > 0, "connectedAgents": agents})
