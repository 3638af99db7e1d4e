"""Runtimes: where workloads run. Import from the submodules (``agent.runtime.base``,
``agent.runtime.local.runtime``).

This package deliberately imports nothing: the local runtime's supervisor runs as
``python -m agent.runtime.local.supervisor`` and must start fast on the standard library alone.
"""
