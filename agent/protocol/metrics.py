"""The ``metrics`` message: GPU usage sampled by the agent every few seconds, sent in batches.

Each sample says, at one instant, what every running workload holds and uses on each of its
devices, and what each device holds and uses in all. Allocation (the share of a device given to
a workload) is always known; memory used and utilisation come from NVML and are ``None`` where
there is none to ask (simulated devices, a runtime that cannot name the workload's processes),
never guessed. Node totals are the sums of their devices.

Self-contained (it needs only pydantic), so that ``messages`` can put it in its union without an
import cycle; its models are as strict as the others (unknown fields refused, frozen).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

METRICS_FEATURE = "metrics"
"""The feature an agent that sends ``metrics`` declares in its ``hello``."""

MAX_SAMPLES_PER_MESSAGE = 120


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkloadDeviceUsage(_Strict):
    """One workload on one device: the share of the device it was given and what it uses."""

    gpu_uuid: Annotated[str, Field(min_length=1)]
    allocation: Annotated[float, Field(gt=0, le=1)]
    memory_used_bytes: Annotated[int, Field(ge=0)] | None = None
    utilization_percent: Annotated[float, Field(ge=0, le=100)] | None = None


class WorkloadUsage(_Strict):
    """A running workload's devices, as one sample saw them."""

    workload_id: Annotated[str, Field(min_length=1)]
    node: Annotated[str, Field(min_length=1)]
    devices: Annotated[list[WorkloadDeviceUsage], Field(min_length=1)]


class DeviceUsage(_Strict):
    """One device in all: how much of it is allocated (0 to 1, the sum of its workloads' shares)
    and what NVML says is used on it."""

    node: Annotated[str, Field(min_length=1)]
    gpu_uuid: Annotated[str, Field(min_length=1)]
    index: Annotated[int, Field(ge=0)]
    allocation: Annotated[float, Field(ge=0)]
    memory_total_bytes: Annotated[int, Field(ge=0)]
    memory_used_bytes: Annotated[int, Field(ge=0)] | None = None
    utilization_percent: Annotated[float, Field(ge=0, le=100)] | None = None


class MetricsSample(_Strict):
    """Everything one sampling saw. ``interval_seconds`` is the time the sample stands for (the
    sampling period), so usage over time is the sum of value x interval."""

    at: datetime
    interval_seconds: Annotated[float, Field(gt=0)]
    workloads: list[WorkloadUsage] = []
    devices: list[DeviceUsage] = []


class MetricsMessage(BaseModel):
    """A batch of samples, oldest first (agent -> control plane)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    seq: Annotated[int, Field(ge=0)] = 0
    type: Literal["metrics"] = "metrics"
    samples: Annotated[list[MetricsSample], Field(min_length=1, max_length=MAX_SAMPLES_PER_MESSAGE)]
