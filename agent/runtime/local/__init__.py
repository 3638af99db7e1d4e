"""The local runtime: each workload is a process on this host, watched by a small supervisor
process that outlives the agent. Import ``LocalRuntime`` from ``agent.runtime.local.runtime``.

Like its parent package, this one imports nothing, so the supervisor starts on the standard
library alone.
"""
