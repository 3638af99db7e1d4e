"""The on-disk record of one local workload, shared by the runtime and the supervisor.

Standard library only: the supervisor imports this module. A workload's directory holds
``spec.json``, ``placement.json``, ``work/`` (the process's cwd), ``stdout.log``,
``stderr.log``, ``supervisor.json`` (pid and /proc start time of the supervisor), ``stop.json``
(a stop was requested, with its grace period, and the scheduler's reason when it is an eviction)
and, once it is over, ``exit_code`` (written by the supervisor; with ``exit_worker``, the rank of
the gang's worker that failed) or ``failure`` (a reason, when there is no exit code). Final files
are written atomically, so a reader never sees half of one. An evicted workload started again
keeps its directory: ``work/`` and the logs carry on, the files of the last run are removed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

LOST_REASON = "lost: the agent restarted and the process was gone with no exit status"


class WorkloadDir:
    """Paths inside one workload's directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spec = path / "spec.json"
        self.placement = path / "placement.json"
        self.work = path / "work"
        self.stdout = path / "stdout.log"
        self.stderr = path / "stderr.log"
        self.supervisor = path / "supervisor.json"
        self.supervisor_log = path / "supervisor.log"
        self.stop = path / "stop.json"
        self.exit_code = path / "exit_code"
        self.exit_worker = path / "exit_worker"
        self.failure = path / "failure"

    def run_files(self) -> tuple[Path, ...]:
        """The files of one run, removed before an evicted workload starts again."""
        return (self.supervisor, self.stop, self.exit_code, self.exit_worker, self.failure)

    @property
    def workload_id(self) -> str:
        return self.path.name

    def log(self, stream: str) -> Path:
        return self.stdout if stream == "stdout" else self.stderr

    def read_exit_code(self) -> int | None:
        try:
            return int(self.exit_code.read_text().strip())
        except (OSError, ValueError):
            return None

    def read_exit_worker(self) -> int | None:
        try:
            return int(self.exit_worker.read_text().strip())
        except (OSError, ValueError):
            return None

    def eviction(self) -> str | None:
        """The scheduler's reason if the workload's stop is an eviction, else None."""
        reason = (read_json(self.stop) or {}).get("evicted")
        return str(reason) if reason is not None else None

    def read_failure(self) -> str | None:
        try:
            return self.failure.read_text().strip() or "failed"
        except OSError:
            return None


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def process_start_time(pid: int) -> int | None:
    """Start time of a live process (field 22 of /proc/<pid>/stat, in clock ticks since boot);
    ``None`` if there is no such process or it is a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    # Field 2 (the command name) may contain spaces and parentheses: split after its last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_same_process_alive(pid: int, start_time: int) -> bool:
    """Whether ``pid`` is alive and is still the process that started at ``start_time`` (a
    reused pid has another start time)."""
    return pid > 0 and process_start_time(pid) == start_time
