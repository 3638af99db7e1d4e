"""Wire protocol between the control plane and a cluster's agent.

This package is the single source of truth for the messages on the agent websocket. Both ends
validate every message with :func:`parse_message`, so a malformed message is refused where it
arrives, with a :class:`ProtocolError` that names the bad field.
"""

from agent.protocol.messages import (
    PROTOCOL_VERSION,
    AckMessage,
    AgentMessage,
    ControlMessage,
    CordonSpec,
    DesiredStateMessage,
    ErrorMessage,
    GpuDevice,
    HeartbeatMessage,
    HelloMessage,
    Inventory,
    InventoryMessage,
    LogChunkMessage,
    NodeInventory,
    PoolQuota,
    ProtocolError,
    QueueSpec,
    ResourceQuota,
    WelcomeMessage,
    WorkloadPhase,
    WorkloadSpec,
    WorkloadStatus,
    WorkloadStatusMessage,
    dump_message,
    parse_message,
)
from agent.protocol.metrics import (
    DeviceUsage,
    MetricsMessage,
    MetricsSample,
    WorkloadDeviceUsage,
    WorkloadUsage,
)

__all__ = [
    "PROTOCOL_VERSION",
    "AckMessage",
    "AgentMessage",
    "ControlMessage",
    "CordonSpec",
    "DesiredStateMessage",
    "DeviceUsage",
    "ErrorMessage",
    "GpuDevice",
    "HeartbeatMessage",
    "HelloMessage",
    "Inventory",
    "InventoryMessage",
    "LogChunkMessage",
    "MetricsMessage",
    "MetricsSample",
    "NodeInventory",
    "PoolQuota",
    "ProtocolError",
    "QueueSpec",
    "ResourceQuota",
    "WelcomeMessage",
    "WorkloadDeviceUsage",
    "WorkloadPhase",
    "WorkloadSpec",
    "WorkloadStatus",
    "WorkloadStatusMessage",
    "WorkloadUsage",
    "dump_message",
    "parse_message",
]
