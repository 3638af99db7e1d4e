"""Scheduling policies, one module each; each registers its callbacks when a session opens."""

from agent.scheduler.plugins import (
    cpu_memory_quota,
    fair_share_note,
    gang,
    min_runtime,
    placement_strategy,
    priority,
    proportion,
)

DEFAULT_PLUGINS = (
    priority.register,
    proportion.register,
    cpu_memory_quota.register,
    min_runtime.register,
    gang.register,
    placement_strategy.register,
    fair_share_note.register,
)
"""The plugins of every session, in registration order."""

__all__ = ["DEFAULT_PLUGINS"]
