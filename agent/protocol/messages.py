"""Message types of the agent protocol, version 1.

Every message is a JSON object with ``v`` (protocol version), ``type`` and ``seq`` (a sequence
number per sender and connection, used by acknowledgements). Reconciliation is level-triggered:
on every connection the agent sends ``hello`` with its full actual state, the control plane
answers ``welcome`` and a full ``desired_state``; after that both sides send deltas. Handling is
idempotent on both ends, so a resent message changes nothing.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent.protocol.metrics import METRICS_FEATURE, MetricsMessage
from agent.protocol.queues_status import QUEUE_STATUS_FEATURE, QueueStatusMessage

PROTOCOL_VERSION = 1


class ProtocolError(ValueError):
    """A message that is not valid JSON or does not match the protocol."""


class WorkloadPhase(enum.StrEnum):
    """Run:ai's phase names for a workload's lifecycle."""

    PENDING = "Pending"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    COMPLETED = "Completed"
    FAILED = "Failed"

    @property
    def is_terminal(self) -> bool:
        return self in (WorkloadPhase.COMPLETED, WorkloadPhase.FAILED, WorkloadPhase.STOPPED)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GpuDevice(_Strict):
    """One GPU as the agent sees it."""

    index: Annotated[int, Field(ge=0)]
    uuid: Annotated[str, Field(min_length=1)]
    model: str
    memory_mib: Annotated[int, Field(ge=0)]
    simulated: bool = False
    # Optional facts and flags, left off the wire when None (an older peer reads the rest):
    # MIG mode as NVML reports it; ``healthy`` False once NVML reported a fault (XID error,
    # uncorrectable ECC error, the device stopped answering), with the reason; ``cordoned`` True
    # while an administrator has cordoned the device. The scheduler places nothing on a device
    # that is unhealthy or cordoned.
    mig_mode: bool | None = None
    healthy: bool | None = None
    health_message: str | None = None
    cordoned: bool | None = None

    @property
    def schedulable(self) -> bool:
        """Whether new work may be placed on this device."""
        return self.healthy is not False and not self.cordoned


class NodeInventory(_Strict):
    """A node the agent manages and the devices on it."""

    name: Annotated[str, Field(min_length=1)]
    simulated: bool = False
    driver_version: str | None = None
    cuda_version: str | None = None
    gpus: list[GpuDevice] = []
    # True when the node runs the NVIDIA MPS control daemon (memory limits per client); True
    # while an administrator has cordoned the whole node. Left off when None.
    mps: bool | None = None
    cordoned: bool | None = None
    # The node's labels (as Kubernetes has them), which node pools select nodes by; left off when
    # None. Every node is also known by ``kubernetes.io/hostname`` = its name.
    labels: dict[str, str] | None = None
    # The node's CPU (millicores) and memory, which workloads' CPU and memory requests are placed
    # against; None: not reported, nothing is placed against it.
    cpu_milli: Annotated[int, Field(gt=0)] | None = None
    memory_mib: Annotated[int, Field(gt=0)] | None = None


class Inventory(_Strict):
    nodes: list[NodeInventory]


class ToolPort(_Strict):
    """A tool a workload serves on a port (Run:ai's ``exposedUrls``/``ports`` entry)."""

    container: Annotated[int, Field(ge=1, le=65535)]
    tool_type: str | None = None
    tool_name: str | None = None


class WorkloadSpec(_Strict):
    """What the control plane wants run: one workload, as the agent needs to know it."""

    id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    project: Annotated[str, Field(min_length=1)]
    workload_type: Literal["training", "workspace", "inference", "distributed"] = "training"
    image: str = ""
    command: str = ""
    args: str = ""
    env: dict[str, str] = {}
    gpu_devices: Annotated[int, Field(ge=0)] = 0
    priority: int = 50
    submitted_at: datetime
    # GPU fractions: ``gpu_devices`` devices, each shared at this portion (or this much memory),
    # with an optional burstable portion limit. None: whole devices.
    gpu_portion: Annotated[float, Field(gt=0, le=1)] | None = None
    gpu_portion_limit: Annotated[float, Field(gt=0, le=1)] | None = None
    gpu_memory_mib: Annotated[int, Field(gt=0)] | None = None
    priority_class: str | None = None
    preemptible: bool | None = None
    # A distributed training runs ``workers`` processes, each with the request above, as one gang:
    # all start together or none does, and an eviction takes them all.
    workers: Annotated[int, Field(ge=1)] = 1
    # The node pools the workload may run in, in order of preference (its request's, else its
    # project's defaults, else the default pool); None: any node. Sent only to agents that
    # declared "node_pools" (an older one would refuse the field).
    node_pools: list[Annotated[str, Field(min_length=1)]] | None = None
    # The ports its tools (Jupyter, TensorBoard, a web app) listen on inside the workload, as the
    # request's ``exposedUrls``/``ports`` give them; the runtime maps each to a port on the node.
    tool_ports: list[ToolPort] | None = None
    # What each pod needs of its node's CPU (millicores) and memory, as the request's
    # ``cpuCoreRequest``/``cpuMemoryRequest`` give them; None: nothing. Sent only to agents that
    # declared "cpu_requests".
    cpu_milli: Annotated[int, Field(ge=0)] | None = None
    memory_mib: Annotated[int, Field(ge=0)] | None = None

    def needs(self) -> set[str]:
        """The agent features this workload needs beyond version 1's first messages."""
        needs = set()
        if self.gpu_portion is not None or self.gpu_memory_mib is not None:
            needs.add("gpu_fractions")
        if self.workload_type != "training":
            needs.add("workload_types")
        if self.workload_type == "distributed" or self.workers > 1:
            needs.add("distributed")
        return needs


class WorkloadStatus(_Strict):
    """The actual state of one workload on the cluster."""

    workload_id: Annotated[str, Field(min_length=1)]
    phase: WorkloadPhase
    message: str = ""
    exit_code: int | None = None
    node: str | None = None
    gpus: list[str] = []
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Where the workload's tools answer, one URL per tool port, once it runs; None: none exposed.
    urls: list[str] | None = None


class ResourceQuota(_Strict):
    """One resource's quota in one node pool: what is deserved, the cap (-1 = unlimited) and the
    weight for a share of spare capacity."""

    deserved: Annotated[float, Field(ge=0)] = 0
    limit: Annotated[float, Field(ge=-1)] = -1
    over_quota_weight: Annotated[float, Field(ge=0)] = 1


class PoolQuota(_Strict):
    """A queue's quotas in one node pool. CPU is in millicores and memory in MiB; ``None`` means
    the queue sets no quota for that resource there."""

    node_pool: Annotated[str, Field(min_length=1)]
    gpu: ResourceQuota = ResourceQuota()
    cpu: ResourceQuota | None = None
    memory: ResourceQuota | None = None


class CordonSpec(_Strict):
    """An administrator's cordon on a node (by name) or a device (by UUID): nothing new is placed
    there; with ``drain``, what runs there is stopped too."""

    target: Literal["node", "device"]
    name: Annotated[str, Field(min_length=1)]
    drain: bool = False


class NodePoolSpec(_Strict):
    """A node pool as the agent places by it: the names of its nodes (the control plane resolves
    the pool's label to them) and its placement strategy for GPUs and CPUs."""

    name: Annotated[str, Field(min_length=1)]
    nodes: list[str] = []
    gpu_placement: Literal["binpack", "spread"] = "binpack"
    cpu_placement: Literal["binpack", "spread"] = "binpack"
    # How fractions on the pool's MPS nodes share compute: "strict" caps each at its portion,
    # "fair" time-slices. None: the agent's own default (its command line). Sent only to agents
    # that declared the feature "pool_compute_mode".
    gpu_compute_mode: Literal["fair", "strict"] | None = None


class QueueSpec(_Strict):
    """A scheduling queue: a department (``parent`` None) or one of its projects."""

    id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    kind: Literal["department", "project"]
    parent: str | None = None
    pools: list[PoolQuota] = []


# An agent runs a workspace or an inference as it runs a training: a process with its command;
# it shares devices among GPU fractions and runs a distributed training's workers as one gang.
# It places work in node pools, and gives the tools of a workload a port and reports their URLs.
FEATURES = (
    "queues",
    "workload_types",
    "cordons",
    METRICS_FEATURE,
    "gpu_fractions",
    "distributed",
    "node_pools",
    "tool_ports",
    QUEUE_STATUS_FEATURE,
    "pool_compute_mode",
    "cpu_requests",
)
"""What this protocol's agents understand beyond version 1's first messages; sent in ``hello``."""


class _Envelope(_Strict):
    v: Literal[1] = PROTOCOL_VERSION
    seq: Annotated[int, Field(ge=0)] = 0


# --- agent -> control plane -------------------------------------------------------------------


class HelloMessage(_Envelope):
    """First message of every connection: who the agent is and its full actual state."""

    type: Literal["hello"] = "hello"
    agent_version: str
    inventory: Inventory
    workloads: list[WorkloadStatus] = []
    # An agent built on this protocol declares its features without being told to; a hello that
    # omits the field comes from an agent older than them.
    features: list[str] = Field(default_factory=lambda: list(FEATURES))

    def understands(self, feature: str) -> bool:
        """Whether the agent declared ``feature`` (not merely defaulted to it on parsing)."""
        return "features" in self.model_fields_set and feature in self.features


class HeartbeatMessage(_Envelope):
    type: Literal["heartbeat"] = "heartbeat"


class WorkloadStatusMessage(_Envelope):
    type: Literal["workload_status"] = "workload_status"
    status: WorkloadStatus


class InventoryMessage(_Envelope):
    """The agent's inventory changed since hello (a device appeared, vanished or turned
    unhealthy): it replaces what the control plane knew, as hello's does."""

    type: Literal["inventory"] = "inventory"
    inventory: Inventory


class LogChunkMessage(_Envelope):
    """A piece of a workload's output. ``offset`` and ``size`` are byte positions in the stream,
    so the receiver can drop what it already has and the sender can resend safely."""

    type: Literal["log_chunk"] = "log_chunk"
    workload_id: Annotated[str, Field(min_length=1)]
    stream: Literal["stdout", "stderr"]
    offset: Annotated[int, Field(ge=0)]
    size: Annotated[int, Field(ge=0)]
    data: str


# --- control plane -> agent -------------------------------------------------------------------


class WelcomeMessage(_Envelope):
    """Answer to ``hello``: the cluster's identity and where each log stream should resume."""

    type: Literal["welcome"] = "welcome"
    cluster_id: str
    heartbeat_interval: Annotated[float, Field(gt=0)] = 5.0
    log_offsets: dict[str, dict[Literal["stdout", "stderr"], int]] = {}


class DesiredStateMessage(_Envelope):
    """What should run. ``full`` replaces everything the agent knows (anything not listed is
    stopped); otherwise ``workloads`` are added or updated and ``removed`` are stopped.

    ``queues``, when given, is the cluster's whole set of departments and projects with their
    quotas, replacing what the agent knew (queues are few, so a change resends them all). It is
    left off the wire when empty, so an agent older than queues reads the message as before.
    """

    type: Literal["desired_state"] = "desired_state"
    full: bool
    workloads: list[WorkloadSpec] = []
    removed: list[str] = []
    queues: list[QueueSpec] = []
    # The cluster's cordons, replacing what the agent knew; None (left off) means unchanged.
    # Sent only to agents that declared the feature "cordons".
    cordons: list[CordonSpec] | None = None
    # The cluster's node pools, replacing what the agent knew; None (left off) means unchanged.
    # Sent only to agents that declared the feature "node_pools".
    node_pools: list[NodePoolSpec] | None = None


# --- both ways --------------------------------------------------------------------------------


class AckMessage(_Envelope):
    type: Literal["ack"] = "ack"
    ack_seq: Annotated[int, Field(ge=0)]


class ErrorMessage(_Envelope):
    type: Literal["error"] = "error"
    message: str
    ref_seq: int | None = None


AgentMessage = Annotated[
    HelloMessage
    | HeartbeatMessage
    | WorkloadStatusMessage
    | LogChunkMessage
    | InventoryMessage
    | MetricsMessage
    | QueueStatusMessage
    | AckMessage
    | ErrorMessage,
    Field(discriminator="type"),
]
"""Any message an agent may send."""

ControlMessage = Annotated[
    WelcomeMessage | DesiredStateMessage | AckMessage | ErrorMessage,
    Field(discriminator="type"),
]
"""Any message the control plane may send."""

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "agent": TypeAdapter(AgentMessage),
    "control": TypeAdapter(ControlMessage),
}


def parse_message(raw: str | bytes, sender: Literal["agent", "control"]) -> Any:
    """Validate one message from ``sender`` and return it as its model.

    Raises :class:`ProtocolError` naming the offending field.
    """
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"message is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("message must be a JSON object")
    if data.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {data.get('v')!r}; this end speaks {PROTOCOL_VERSION}")
    try:
        return _ADAPTERS[sender].validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_field_path(err['loc'], data.get('type')) or 'message'}: {err['msg']}" for err in exc.errors()
        )
        raise ProtocolError(f"invalid {data.get('type', 'untyped')!s} message: {problems}") from None


def _field_path(loc: tuple[Any, ...], message_type: Any) -> str:
    # pydantic puts the union's tag first; the field path is what a reader needs.
    if loc and loc[0] == message_type:
        loc = loc[1:]
    return ".".join(str(part) for part in loc)


def dump_message(message: BaseModel) -> str:
    """Serialise a message for the wire. Fields left at None, and empty queues, are left off: an
    older peer (which refuses unknown fields) reads what it knows, and None is every optional
    field's default, so a newer one reads the same message."""
    if isinstance(message, DesiredStateMessage) and not message.queues:
        return message.model_dump_json(exclude={"queues"}, exclude_none=True)
    return message.model_dump_json(exclude_none=True)
