"""The agent websocket endpoint: one connection per cluster, speaking ``agent.protocol``."""

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from agent.protocol import (
    AckMessage,
    CordonSpec,
    DesiredStateMessage,
    ErrorMessage,
    HeartbeatMessage,
    HelloMessage,
    InventoryMessage,
    LogChunkMessage,
    MetricsMessage,
    NodePoolSpec,
    ProtocolError,
    QueueSpec,
    QueueStatusMessage,
    WelcomeMessage,
    WorkloadSpec,
    WorkloadStatusMessage,
    dump_message,
    parse_message,
)
from clusters import pools, queue_status, queues, services
from clusters.models import Cluster
from usage import services as usage_services
from workloads import notify
from workloads import services as workload_services

log = logging.getLogger(__name__)


def _bearer_token(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return ""


def features_of(hello: HelloMessage) -> list[str]:
    """The features the agent declared (none for an agent older than declaring them)."""
    return [feature for feature in hello.features if hello.understands(feature)]


@database_sync_to_async
def _hello(cluster: Cluster, hello: HelloMessage, channel: str) -> tuple[WelcomeMessage, DesiredStateMessage]:
    services.record_agent_hello(cluster, hello.agent_version, hello.inventory, channel)
    for status in hello.workloads:
        workload_services.apply_status(cluster, status)
    welcome = WelcomeMessage(
        cluster_id=str(cluster.pk),
        heartbeat_interval=settings.TESSERA_HEARTBEAT_INTERVAL,
        log_offsets=workload_services.log_offsets(cluster),
    )
    # An agent older than queues would refuse a message that carries them.
    known_queues = queues.cluster_queues(cluster.pk) if hello.understands("queues") else []
    features = set(features_of(hello))
    specs = workload_services.as_understood(workload_services.desired_specs(cluster), features)
    cordons = services.cluster_cordons(cluster.pk) if hello.understands("cordons") else None
    node_pools = pools.as_understood(pools.cluster_pools(cluster.pk), features) if "node_pools" in features else None
    desired = DesiredStateMessage(
        full=True, workloads=specs, queues=known_queues, cordons=cordons, node_pools=node_pools
    )
    return welcome, desired


class AgentConsumer(AsyncWebsocketConsumer):
    """Serves one cluster's agent. Level-triggered: every connection starts with the agent's full
    actual state (hello) and our full desired state; deltas follow."""

    cluster: Cluster | None = None
    greeted = False
    understands_queues = False
    features: set[str] = set()
    node_pools: list[NodePoolSpec] | None = None
    sent_seq = 0

    async def connect(self) -> None:
        cluster_id = self.scope["url_route"]["kwargs"]["cluster_id"]
        self.cluster = await database_sync_to_async(services.authenticate_agent)(cluster_id, _bearer_token(self.scope))
        if self.cluster is None:
            log.warning("refused agent connection for cluster %s: bad token", cluster_id)
            await self.close()  # before accept: the handshake answers 403
            return
        await self.channel_layer.group_add(notify.cluster_group(self.cluster.pk), self.channel_name)
        await self.accept()
        log.info("agent of cluster %s connected", self.cluster.name)

    async def disconnect(self, code: int) -> None:
        if self.cluster is None:
            return
        await self.channel_layer.group_discard(notify.cluster_group(self.cluster.pk), self.channel_name)
        if self.greeted:
            await database_sync_to_async(services.mark_cluster_offline)(self.cluster, self.channel_name)
        log.info("agent of cluster %s disconnected (%s)", self.cluster.name, code)

    async def _send(self, message: Any) -> None:
        self.sent_seq += 1
        await self.send(text_data=dump_message(message.model_copy(update={"seq": self.sent_seq})))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        assert self.cluster is not None
        try:
            message = parse_message(text_data if text_data is not None else (bytes_data or b""), "agent")
        except ProtocolError as exc:
            log.warning("cluster %s sent a malformed message: %s", self.cluster.name, exc)
            await self._send(ErrorMessage(message=str(exc)))
            return
        if isinstance(message, HelloMessage):
            welcome, desired = await _hello(self.cluster, message, self.channel_name)
            self.greeted = True
            self.understands_queues = message.understands("queues")
            self.features = set(features_of(message))
            self.node_pools = desired.node_pools
            await self._send(welcome)
            await self._send(desired)
        elif not self.greeted:
            await self._send(ErrorMessage(message="send hello first", ref_seq=message.seq))
            return
        elif isinstance(message, HeartbeatMessage):
            await database_sync_to_async(services.record_agent_heartbeat)(self.cluster)
        elif isinstance(message, WorkloadStatusMessage):
            await database_sync_to_async(workload_services.apply_status)(self.cluster, message.status)
        elif isinstance(message, InventoryMessage):
            await database_sync_to_async(services.record_agent_inventory)(self.cluster, message.inventory)
        elif isinstance(message, LogChunkMessage):
            await database_sync_to_async(workload_services.append_log)(self.cluster, message)
        elif isinstance(message, MetricsMessage):
            await database_sync_to_async(usage_services.record_metrics)(self.cluster, message)
        elif isinstance(message, QueueStatusMessage):
            await database_sync_to_async(queue_status.record)(self.cluster, message)
        elif isinstance(message, ErrorMessage):
            log.warning("agent of cluster %s reports: %s", self.cluster.name, message.message)
            return
        else:  # an ack: nothing to do
            return
        await self._send(AckMessage(ack_seq=message.seq))

    async def desired_delta(self, event: dict[str, Any]) -> None:
        """A workload was submitted or deleted: pass the change to the agent."""
        if not self.greeted:
            return  # the full desired state after hello will carry it
        specs = [WorkloadSpec.model_validate(spec) for spec in event["workloads"]]
        runnable = workload_services.as_understood(specs, self.features)
        if runnable or event["removed"]:  # a workload held back for a missing feature is no change to it
            await self._send(DesiredStateMessage(full=False, workloads=runnable, removed=event["removed"]))

    async def desired_queues(self, event: dict[str, Any]) -> None:
        """A department or project changed: the agent gets the cluster's queues again."""
        if not self.greeted or not self.understands_queues:
            return  # the full desired state after hello will carry them
        queues = [QueueSpec.model_validate(queue) for queue in event["queues"]]
        await self._send(DesiredStateMessage(full=False, queues=queues))

    async def desired_cordons(self, event: dict[str, Any]) -> None:
        """An administrator cordoned, drained or uncordoned a node or a GPU."""
        if not self.greeted or "cordons" not in self.features:
            return  # the full desired state after hello will carry them
        cordons = [CordonSpec.model_validate(cordon) for cordon in event["cordons"]]
        await self._send(DesiredStateMessage(full=False, cordons=cordons))

    async def desired_node_pools(self, event: dict[str, Any]) -> None:
        """A node pool, its selector or placement, or a node's pool changed."""
        if not self.greeted or "node_pools" not in self.features:
            return  # the full desired state after hello will carry them
        node_pools = pools.as_understood([NodePoolSpec.model_validate(p) for p in event["node_pools"]], self.features)
        if node_pools == self.node_pools:
            return  # already sent: hello's own inventory moves its nodes into their pools
        self.node_pools = node_pools
        await self._send(DesiredStateMessage(full=False, node_pools=node_pools))
