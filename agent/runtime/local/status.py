"""How a local workload is doing, read from its directory and its supervisor's liveness."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.protocol import WorkloadPhase, WorkloadStatus
from agent.runtime.base import PREEMPTED
from agent.runtime.local.layout import WorkloadDir, atomic_write, read_json

GONE_WHILE_STOPPING = "stopped: the process ended with no exit status"


def describe_exit(code: int) -> str:
    """``exit code N`` or ``killed by signal SIGxxx`` (a negative code is a signal number)."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by signal {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def read_status(workload: WorkloadDir, alive: Callable[[], bool], gone_reason: Callable[[], str]) -> WorkloadStatus:
    """The workload's status. ``alive`` says whether its supervisor still runs; when it does not
    and there is no exit status, the outcome is recorded as a failure with ``gone_reason()`` so it
    never changes again. An evicted workload is Stopping, then Pending (requeued, holding no
    device), with a message beginning ``Preempted``: an eviction is never an ending."""
    placement = read_json(workload.placement) or {}
    supervisor = read_json(workload.supervisor) or {}
    common: dict[str, Any] = {
        "workload_id": workload.workload_id,
        "node": placement.get("node"),
        "gpus": [str(g) for g in placement.get("gpus") or []],
        "started_at": _parse_time(supervisor.get("started_at")),
    }
    stopping = workload.stop.exists()
    # A stop with a reason is the agent's (a fault): the workload then ends Failed with it.
    fault = str((read_json(workload.stop) or {}).get("reason") or "") if stopping else ""
    eviction = workload.eviction() if stopping else None
    requeued = WorkloadStatus(
        workload_id=workload.workload_id, phase=WorkloadPhase.PENDING, message=f"{PREEMPTED}: {eviction}"
    )
    final = _final_status(workload, stopping, common, fault)
    if final is not None:
        return requeued if eviction is not None else final
    if alive():
        if stopping:
            message = requeued.message if eviction is not None else fault or "stopping"
            return WorkloadStatus(phase=WorkloadPhase.STOPPING, message=message, **common)
        # Its tools answer while it runs: their URLs come with Running only.
        urls = [str(url) for url in placement.get("urls") or []] or None
        return WorkloadStatus(phase=WorkloadPhase.RUNNING, urls=urls, **common)
    # The supervisor writes the exit code just before it ends: look again before calling it lost.
    final = _final_status(workload, stopping, common, fault)
    if final is not None:
        return final
    reason = GONE_WHILE_STOPPING if stopping else gone_reason()
    atomic_write(workload.failure, reason + "\n")
    if eviction is not None:
        return requeued
    return _final_status(workload, stopping, common, fault) or WorkloadStatus(
        phase=WorkloadPhase.FAILED, message=reason, **common
    )


def _final_status(
    workload: WorkloadDir, stopping: bool, common: dict[str, Any], fault: str = ""
) -> WorkloadStatus | None:
    code = workload.read_exit_code()
    if code is not None:
        finished_at = _mtime(workload.exit_code)
        if fault:
            phase, message = WorkloadPhase.FAILED, fault
        elif stopping:
            phase, message = WorkloadPhase.STOPPED, f"stopped ({describe_exit(code)})"
        elif code == 0:
            phase, message = WorkloadPhase.COMPLETED, ""
        else:
            phase, message = WorkloadPhase.FAILED, describe_exit(code)
            worker = workload.read_exit_worker()
            if worker is not None:
                message = f"worker {worker} failed: {message}"
        return WorkloadStatus(phase=phase, message=message, exit_code=code, finished_at=finished_at, **common)
    failure = workload.read_failure()
    if failure is not None:
        phase = WorkloadPhase.STOPPED if stopping and not fault else WorkloadPhase.FAILED
        message = fault or failure
        return WorkloadStatus(phase=phase, message=message, finished_at=_mtime(workload.failure), **common)
    return None


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        return None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
