"""The ``queue_status`` message: what the agent's scheduler makes of each department and project.

Every scheduling cycle divides each node pool's GPUs among the queues by water-filling (deserved
quota first, then the rest by over-quota weight, within limits and demand): that is each queue's
fair share. The agent sends, per queue and node pool, that fair share, the GPUs the queue holds
once the cycle's decisions are taken, and whether that is more than its deserved quota. It sends
the whole set, replacing what the control plane knew, when the figures change (not every tick),
and again on every new connection.

Self-contained (it needs only pydantic), so that ``messages`` can put it in its union without an
import cycle; its models are as strict as the others (unknown fields refused, frozen).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

QUEUE_STATUS_FEATURE = "queue_status"
"""The feature an agent that sends ``queue_status`` declares in its ``hello``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueuePoolStatus(_Strict):
    """One queue (a department or a project, by the id the control plane gave it) in one pool."""

    queue_id: Annotated[str, Field(min_length=1)]
    kind: Literal["department", "project"]
    node_pool: Annotated[str, Field(min_length=1)]
    fair_share_gpus: Annotated[float, Field(ge=0)]
    allocated_gpus: Annotated[float, Field(ge=0)]
    over_quota: bool


class QueueStatusMessage(BaseModel):
    """Every queue's figures in every pool, as the last scheduling cycle saw them (agent -> control
    plane)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    seq: Annotated[int, Field(ge=0)] = 0
    type: Literal["queue_status"] = "queue_status"
    queues: list[QueuePoolStatus] = []
