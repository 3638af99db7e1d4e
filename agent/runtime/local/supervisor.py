"""Supervisor of one local workload: ``python -m agent.runtime.local.supervisor <workload_dir>``.

The runtime starts it in a new session, so it survives the agent being killed. It runs the
workload's command through ``/bin/sh -c`` once per worker (one, or a distributed workload's
gang), each in its own process group with the environment the runtime wrote for it, the output
going to the directory's log files (a gang's lines prefixed ``[worker N] ``). It forwards SIGTERM
to every group (SIGKILL once the stop's grace period has passed), stops the whole gang when one
worker fails, and writes the exit code atomically when all have ended: negative for a signal, as
:mod:`subprocess` reports it. Standard library only, so it starts fast and depends on nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from agent.runtime.local.layout import WorkloadDir, atomic_write, read_json

DEFAULT_GRACE_SECONDS = 10.0
_WAIT_STEP_SECONDS = 0.1
_PUMP_JOIN_SECONDS = 2.0


def command_line(command: str, args: str) -> str:
    """The shell command line of a spec: ``command``, then ``args`` after a space if any."""
    if command and args:
        return f"{command} {args}"
    return command or args


def child_environment(base: Mapping[str, str], spec: Mapping[str, Any], worker: Mapping[str, Any]) -> dict[str, str]:
    """A worker's environment: ``base`` (the agent's), the spec's env, then what Tessera sets for
    this worker (see ``agent.runtime.environment``), which wins."""
    env = dict(base)
    env.update({str(k): str(v) for k, v in (spec.get("env") or {}).items()})
    env.update({str(k): str(v) for k, v in (worker.get("env") or {}).items()})
    return env


class _Prefixer:
    """Copies a gang worker's output into the shared log, line by line, each line prefixed."""

    def __init__(self, source: IO[bytes], sink: IO[bytes], lock: threading.Lock, prefix: bytes) -> None:
        self.thread = threading.Thread(target=self._pump, args=(source, sink, lock, prefix), daemon=True)
        self.thread.start()

    @staticmethod
    def _pump(source: IO[bytes], sink: IO[bytes], lock: threading.Lock, prefix: bytes) -> None:
        with source:
            for line in iter(source.readline, b""):
                with lock:
                    sink.write(prefix + line)
                    sink.flush()


class Supervisor:
    """Runs one workload's workers to their end and records how the workload ended."""

    def __init__(self, workload: WorkloadDir) -> None:
        self.workload = workload
        self.children: list[subprocess.Popen[bytes]] = []
        self.kill_at: float | None = None
        self.stop_requested = False

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
        workers = placement.get("workers") or [{}]
        if self.stop_requested:
            atomic_write(self.workload.failure, "stopped before the command started\n")
            return 0
        with open(self.workload.stdout, "ab") as out, open(self.workload.stderr, "ab") as err:
            pumps = self._start_workers(line, spec, workers, out, err)
            if pumps is None:
                atomic_write(self.workload.exit_code, "127\n")
                return 0
            if self.kill_at is not None:  # SIGTERM arrived while the workers were being started.
                self._signal_all(signal.SIGTERM)
            code, failed = self._wait()
            for pump in pumps:
                pump.thread.join(_PUMP_JOIN_SECONDS)
        if failed is not None and len(workers) > 1:
            atomic_write(self.workload.exit_worker, f"{failed}\n")
        atomic_write(self.workload.exit_code, f"{code}\n")
        return 0

    def _start_workers(
        self, line: str, spec: Mapping[str, Any], workers: list[Any], out: IO[bytes], err: IO[bytes]
    ) -> list[_Prefixer] | None:
        """Start every worker; None (after stopping those started) if one could not start."""
        gang = len(workers) > 1
        locks = {id(out): threading.Lock(), id(err): threading.Lock()}
        pumps: list[_Prefixer] = []
        for rank, worker in enumerate(workers):
            try:
                child = subprocess.Popen(
                    ["/bin/sh", "-c", line],
                    cwd=self.workload.work,
                    env=child_environment(os.environ, spec, worker),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE if gang else out,
                    stderr=subprocess.PIPE if gang else err,
                    start_new_session=True,
                )
            except OSError as exc:
                err.write(f"tessera: could not start the command of worker {rank}: {exc}\n".encode())
                self._signal_all(signal.SIGKILL)
                for child in self.children:
                    child.wait()
                return None
            self.children.append(child)
            if gang:
                prefix = f"[worker {rank}] ".encode()
                for source, sink in ((child.stdout, out), (child.stderr, err)):
                    assert source is not None
                    pumps.append(_Prefixer(source, sink, locks[id(sink)], prefix))
        return pumps

    def _wait(self) -> tuple[int, int | None]:
        """Wait for every worker; returns the workload's exit code and the rank of the worker
        whose failure ended it (None if none did). A failed worker stops the rest of the gang."""
        codes: dict[int, int] = {}
        failed: int | None = None
        while len(codes) < len(self.children):
            for rank, child in enumerate(self.children):
                code = child.poll() if rank not in codes else None
                if code is None:
                    continue
                codes[rank] = code
                if code != 0 and failed is None and self.kill_at is None:
                    failed = rank
                    self.kill_at = time.monotonic() + DEFAULT_GRACE_SECONDS
                    self._signal_all(signal.SIGTERM)
            if self.kill_at is not None and time.monotonic() >= self.kill_at:
                self._signal_all(signal.SIGKILL)
            if len(codes) < len(self.children):
                time.sleep(_WAIT_STEP_SECONDS)
        if self.kill_at is not None:
            # A stop ends every group, including anything the command left behind.
            self._signal_all(signal.SIGKILL)
        if failed is not None:
            return codes[failed], failed
        return next((code for _, code in sorted(codes.items()) if code != 0), 0), None

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self.stop_requested = True
        deadline = time.monotonic() + self._grace_seconds()
        self.kill_at = deadline if self.kill_at is None else min(self.kill_at, deadline)
        self._signal_all(signal.SIGTERM)

    def _grace_seconds(self) -> float:
        stop = read_json(self.workload.stop) or {}
        try:
            return max(0.0, float(stop.get("grace_seconds", DEFAULT_GRACE_SECONDS)))
        except (TypeError, ValueError):
            return DEFAULT_GRACE_SECONDS

    def _signal_all(self, signum: int) -> None:
        for child in self.children:
            try:
                os.killpg(child.pid, signum)
            except (ProcessLookupError, PermissionError):
                pass  # The group is already gone.


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m agent.runtime.local.supervisor WORKLOAD_DIR", file=sys.stderr)
        return 2
    return Supervisor(WorkloadDir(Path(argv[1]).resolve())).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
