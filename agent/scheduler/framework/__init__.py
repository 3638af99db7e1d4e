"""The scheduling framework: session, statement, ordering and the evict-then-place solver."""

from agent.scheduler.framework.jobs import Job, PodAt
from agent.scheduler.framework.session import PLACEMENT, Session
from agent.scheduler.framework.statement import Statement

__all__ = ["PLACEMENT", "Job", "PodAt", "Session", "Statement"]
