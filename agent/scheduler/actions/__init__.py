"""Scheduling actions, one module each; an action only knows the :class:`Session`."""

from agent.scheduler.actions.allocate import allocate

__all__ = ["allocate"]
