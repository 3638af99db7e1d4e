"""Scheduling actions, one module each; an action only knows the session."""

from agent.scheduler.actions.allocate import allocate
from agent.scheduler.actions.consolidate import consolidate
from agent.scheduler.actions.preempt import preempt
from agent.scheduler.actions.reclaim import reclaim

ACTIONS = (allocate, consolidate, reclaim, preempt)
"""The actions of one cycle, in order (as KAI-Scheduler runs them)."""

__all__ = ["ACTIONS", "allocate", "consolidate", "preempt", "reclaim"]
