"""Supervisor of one local workload: ``python -m agent.runtime.local.supervisor <workload_dir>``.

The runtime starts it in a new session, so it survives the agent being killed. It runs the
workload's command through ``/bin/sh -c`` in its own process group, with the output going to the
directory's log files, forwards SIGTERM to that group (SIGKILL once the stop's grace period has
passed) and writes the exit code atomically when the command ends: negative for a signal, as
:mod:`subprocess` reports it. Standard library only, so it starts fast and depends on nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from agent.runtime.local.layout import WorkloadDir, atomic_write, read_json

DEFAULT_GRACE_SECONDS = 10.0
_WAIT_STEP_SECONDS = 0.2


def command_line(command: str, args: str) -> str:
    """The shell command line of a spec: ``command``, then ``args`` after a space if any."""
    if command and args:
        return f"{command} {args}"
    return command or args


def child_environment(base: Mapping[str, str], spec: Mapping[str, Any], placement: Mapping[str, Any]) -> dict[str, str]:
    """The command's environment: ``base`` (the agent's), the spec's env, then what Tessera
    sets itself, which wins: the visible devices and the workload's identity."""
    env = dict(base)
    env.update({str(k): str(v) for k, v in (spec.get("env") or {}).items()})
    env["CUDA_VISIBLE_DEVICES"] = str(placement.get("cuda_visible_devices", ""))
    env["TESSERA_WORKLOAD_ID"] = str(spec.get("id", ""))
    env["TESSERA_WORKLOAD_NAME"] = str(spec.get("name", ""))
    env["TESSERA_PROJECT"] = str(spec.get("project", ""))
    return env


class Supervisor:
    """Runs one workload's command to its end and records how it ended."""

    def __init__(self, workload: WorkloadDir) -> None:
        self.workload = workload
        self.child: subprocess.Popen[bytes] | None = None
        self.kill_at: float | None = None

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        # The runtime starts us with SIGTERM blocked, so a stop that came before the handler was
        # installed is pending, not fatal: it is delivered to the handler now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        spec = read_json(self.workload.spec)
        placement = read_json(self.workload.placement)
        if spec is None or placement is None:
            atomic_write(self.workload.failure, "could not read spec.json or placement.json\n")
            return 1
        line = command_line(str(spec.get("command", "")), str(spec.get("args", "")))
        if not line.strip():
            atomic_write(self.workload.failure, "no command given\n")
            return 1
        if self.kill_at is not None:
            atomic_write(self.workload.failure, "stopped before the command started\n")
            return 0
        with open(self.workload.stdout, "ab") as out, open(self.workload.stderr, "ab") as err:
            try:
                self.child = subprocess.Popen(
                    ["/bin/sh", "-c", line],
                    cwd=self.workload.work,
                    env=child_environment(os.environ, spec, placement),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            except OSError as exc:
                err.write(f"tessera: could not start the command: {exc}\n".encode())
                atomic_write(self.workload.exit_code, "127\n")
                return 0
        if self.kill_at is not None:  # SIGTERM arrived while the command was being started.
            self._signal_group(signal.SIGTERM)
        code = self._wait(self.child)
        if self.kill_at is not None:
            # A stop ends the whole group, including anything the command left behind.
            self._signal_group(signal.SIGKILL)
        atomic_write(self.workload.exit_code, f"{code}\n")
        return 0

    def _wait(self, child: subprocess.Popen[bytes]) -> int:
        while True:
            try:
                return child.wait(timeout=_WAIT_STEP_SECONDS)
            except subprocess.TimeoutExpired:
                if self.kill_at is not None and time.monotonic() >= self.kill_at:
                    self._signal_group(signal.SIGKILL)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self.kill_at is None:
            self.kill_at = time.monotonic() + self._grace_seconds()
        if self.child is not None:
            self._signal_group(signal.SIGTERM)

    def _grace_seconds(self) -> float:
        stop = read_json(self.workload.stop) or {}
        try:
            return max(0.0, float(stop.get("grace_seconds", DEFAULT_GRACE_SECONDS)))
        except (TypeError, ValueError):
            return DEFAULT_GRACE_SECONDS

    def _signal_group(self, signum: int) -> None:
        if self.child is None:
            return
        try:
            os.killpg(self.child.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass  # The group is already gone.


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m agent.runtime.local.supervisor WORKLOAD_DIR", file=sys.stderr)
        return 2
    return Supervisor(WorkloadDir(Path(argv[1]).resolve())).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
