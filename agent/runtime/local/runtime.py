"""The local runtime: workloads as processes on this host, one directory each.

Every workload runs under its own supervisor process (see :mod:`.supervisor`), started in a new
session so that it outlives the agent. A new :class:`LocalRuntime` over the same state directory
re-adopts whatever it finds there: finished workloads keep their outcome, live supervisors are
watched again and nothing is ever started twice.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import agent
from agent.gpu.enforcement import WITHOUT_MPS, ComputeMode, FractionConfig, visible_devices
from agent.protocol import GpuDevice, WorkloadPhase, WorkloadSpec, WorkloadStatus
from agent.runtime.base import Runtime, Stream, UnknownWorkload, WorkerPlacement, WorkloadExists
from agent.runtime.environment import workload_environment
from agent.runtime.local.layout import (
    LOST_REASON,
    WorkloadDir,
    atomic_write,
    is_same_process_alive,
    process_start_time,
    read_json,
    write_json,
)
from agent.runtime.local.status import read_status
from agent.runtime.local.supervisor import command_line

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# The directory holding the ``agent`` package: the supervisor is started from there so that
# ``python -m agent.runtime.local.supervisor`` finds it wherever the agent was launched from.
_IMPORT_ROOT = Path(agent.__file__).resolve().parent.parent


__all__ = ["LocalRuntime"]


def free_port() -> int:
    """A TCP port free on this host now, for a gang's rendezvous (MASTER_PORT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


TOOL_HOST_ENV = "TESSERA_TOOL_HOST"
"""The host name in a tool's URL, where this host's own name is not how users reach it."""


def tool_ports(spec: WorkloadSpec) -> tuple[dict[str, str], list[str]]:
    """A free port on this host for each tool the workload exposes: the environment that tells
    the first worker its ports, and the URLs they answer at. The first tool's port is ``PORT``
    and ``TESSERA_TOOL_PORT``; each is also ``TESSERA_TOOL_PORT_<container port>``."""
    if not spec.tool_ports:
        return {}, []
    host = os.environ.get(TOOL_HOST_ENV) or socket.gethostname()
    ports = {tool.container: free_port() for tool in spec.tool_ports}
    first = str(ports[spec.tool_ports[0].container])
    env = {"PORT": first, "TESSERA_TOOL_PORT": first}
    env.update({f"TESSERA_TOOL_PORT_{container}": str(port) for container, port in ports.items()})
    return env, [f"http://{host}:{port}/" for port in ports.values()]


def placement_record(
    spec: WorkloadSpec, workers: Sequence[WorkerPlacement], fractions: FractionConfig = WITHOUT_MPS
) -> dict[str, object]:
    """``placement.json``: where each worker runs and the environment Tessera gives it; the first
    worker's node and every device, as the workload's status reports them, and the URLs of the
    tools the first worker serves."""
    gang = spec.workers > 1 or spec.workload_type == "distributed"
    port = free_port() if gang else None
    tools_env, urls = tool_ports(spec)
    ranks: list[dict[str, object]] = []
    for rank, worker in enumerate(workers):
        local_rank = sum(1 for other in workers[:rank] if other.node == worker.node)
        env = workload_environment(spec, worker.devices, rank, local_rank, port, fractions)
        if rank == 0:
            env.update(tools_env)
        ranks.append({"node": worker.node, "gpus": [d.model_dump(mode="json") for d in worker.devices], "env": env})
    uuids = list(dict.fromkeys(d.uuid for worker in workers for d in worker.devices))
    return {
        "node": workers[0].node,
        "gpus": uuids,
        "cuda_visible_devices": visible_devices(workers[0].devices),
        "workers": ranks,
        "urls": urls,
    }


class LocalRuntime(Runtime):
    """Runs workloads as supervised local processes under ``{state_dir}/workloads/{id}/``."""

    def __init__(self, state_dir: Path, fractions: FractionConfig = WITHOUT_MPS) -> None:
        # How this node holds fractional workloads to their share (MPS or not, and the compute
        # mode for pools that do not set one).
        self.fractions = fractions
        self.root = Path(state_dir).resolve() / "workloads"
        self.root.mkdir(parents=True, exist_ok=True)
        self._dirs: dict[str, WorkloadDir] = {}
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        # Supervisors of finished workloads that have not exited yet: reaped on later polls.
        self._exiting: list[subprocess.Popen[bytes]] = []
        self._final: dict[str, WorkloadStatus] = {}
        self._placements: dict[str, tuple[WorkerPlacement, ...]] = {}  # read once per run
        for path in sorted(self.root.iterdir()):
            if path.is_dir() and _SAFE_ID.fullmatch(path.name):
                self._dirs[path.name] = WorkloadDir(path)
        if self._dirs:
            log.info("re-adopted %d workload records from %s", len(self._dirs), self.root)

    def known(self) -> set[str]:
        return set(self._dirs)

    def start(
        self,
        spec: WorkloadSpec,
        node: str,
        devices: Sequence[GpuDevice],
        workers: Sequence[WorkerPlacement] = (),
        compute_mode: ComputeMode | None = None,
    ) -> None:
        if not _SAFE_ID.fullmatch(spec.id):
            raise ValueError(f"workload id {spec.id!r} cannot name a directory")
        workload = WorkloadDir(self.root / spec.id)
        if spec.id in self._dirs or workload.path.exists():
            if not self._requeued(spec.id):
                raise WorkloadExists(spec.id)
            # Evicted and ended: the same workload again, in the same directory.
            for path in workload.run_files():
                path.unlink(missing_ok=True)
            log.info("starting requeued workload %s again", spec.id)
        else:
            workload.path.mkdir()
            self._dirs[spec.id] = workload
        atomic_write(workload.spec, spec.model_dump_json(indent=2) + "\n")
        write_json(
            workload.placement,
            placement_record(
                spec, workers or [WorkerPlacement(node, tuple(devices))], self.fractions.in_mode(compute_mode)
            ),
        )
        self._placements.pop(spec.id, None)
        workload.work.mkdir(exist_ok=True)
        workload.stdout.touch()
        workload.stderr.touch()
        if not command_line(spec.command, spec.args).strip():
            atomic_write(workload.failure, "no command given\n")
            return
        # SIGTERM stays blocked in the supervisor until its handler is installed: see supervisor.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            with open(workload.supervisor_log, "ab") as supervisor_log:
                child = subprocess.Popen(
                    [sys.executable, "-m", "agent.runtime.local.supervisor", str(workload.path)],
                    cwd=_IMPORT_ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=supervisor_log,
                    stderr=supervisor_log,
                    start_new_session=True,
                )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self._children[spec.id] = child
        write_json(
            workload.supervisor,
            {
                "pid": child.pid,
                "start_time": process_start_time(child.pid),
                "started_at": datetime.now(UTC).isoformat(),
            },
        )
        log.info("started workload %s (supervisor pid %d)", spec.id, child.pid)

    def stop(self, workload_id: str, grace_seconds: float, reason: str | None = None) -> None:
        self._request_stop(workload_id, grace_seconds, {"reason": reason} if reason else {})

    def evict(self, workload_id: str, grace_seconds: float, reason: str) -> None:
        self._request_stop(workload_id, grace_seconds, {"evicted": reason})

    def placement(self, workload_id: str) -> tuple[WorkerPlacement, ...]:
        if workload_id in self._placements:
            return self._placements[workload_id]
        record = read_json(self._dir(workload_id).placement) or {}
        self._placements[workload_id] = tuple(
            WorkerPlacement(
                node=str(worker.get("node", "")),
                devices=tuple(GpuDevice.model_validate(device) for device in worker.get("gpus") or []),
            )
            for worker in record.get("workers") or []
        )
        return self._placements[workload_id]

    def _requeued(self, workload_id: str) -> bool:
        """Whether the workload was evicted and has ended (so it may start again)."""
        status = self.poll().get(workload_id)
        return status is not None and status.phase == WorkloadPhase.PENDING

    def _request_stop(self, workload_id: str, grace_seconds: float, why: dict[str, str]) -> None:
        workload = self._dir(workload_id)
        if workload_id in self._final:
            return
        evicted = workload.eviction()
        if workload.stop.exists() and (evicted is None or "evicted" in why):
            return
        # A plain stop of an evicted workload makes its end final: it is no longer requeued.
        request: dict[str, object] = {"grace_seconds": grace_seconds, "requested_at": datetime.now(UTC).isoformat()}
        request.update(why)
        write_json(workload.stop, request)
        if evicted is not None:
            return  # Already signalled by the eviction.
        if self._supervisor_alive(workload_id):
            pid = int((read_json(workload.supervisor) or {})["pid"])
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # It ended meanwhile; poll() sees how.
            log.info("stopping workload %s (grace %.1f s)", workload_id, grace_seconds)

    def poll(self) -> dict[str, WorkloadStatus]:
        self._exiting = [child for child in self._exiting if child.poll() is None]
        statuses: dict[str, WorkloadStatus] = {}
        for workload_id, workload in self._dirs.items():
            if workload_id in self._final:
                statuses[workload_id] = self._final[workload_id]
                continue
            status = read_status(
                workload,
                alive=partial(self._supervisor_alive, workload_id),
                gone_reason=partial(self._gone_reason, workload_id),
            )
            if status.phase.is_terminal:
                self._final[workload_id] = status
            if status.phase.is_terminal or status.phase == WorkloadPhase.PENDING:
                child = self._children.pop(workload_id, None)
                if child is not None and child.poll() is None:
                    self._exiting.append(child)
            statuses[workload_id] = status
        return statuses

    def forget(self, workload_id: str) -> None:
        workload = self._dir(workload_id)
        if workload_id not in self._final:
            raise ValueError(f"workload {workload_id} has not finished: it cannot be forgotten")
        shutil.rmtree(workload.path, ignore_errors=True)
        del self._dirs[workload_id]
        del self._final[workload_id]
        self._placements.pop(workload_id, None)
        log.info("forgot finished workload %s", workload_id)

    def log_size(self, workload_id: str, stream: Stream) -> int:
        try:
            return self._dir(workload_id).log(stream).stat().st_size
        except FileNotFoundError:
            return 0

    def read_log(self, workload_id: str, stream: Stream, offset: int, limit: int) -> bytes:
        try:
            with open(self._dir(workload_id).log(stream), "rb") as handle:
                handle.seek(offset)
                return handle.read(limit)
        except FileNotFoundError:
            return b""

    def workload_dir(self, workload_id: str) -> Path:
        """The directory of a workload (its files are described in :mod:`.layout`)."""
        return self._dir(workload_id).path

    def _dir(self, workload_id: str) -> WorkloadDir:
        try:
            return self._dirs[workload_id]
        except KeyError:
            raise UnknownWorkload(workload_id) from None

    def _gone_reason(self, workload_id: str) -> str:
        child = self._children.get(workload_id)
        if child is None:
            return LOST_REASON
        return (
            f"the supervisor ended (code {child.returncode}) with no exit status; "
            "see supervisor.log in the workload's directory"
        )

    def _supervisor_alive(self, workload_id: str) -> bool:
        child = self._children.get(workload_id)
        if child is not None:
            # Our own child: poll() reaps it, so a finished supervisor never lingers as a zombie.
            return child.poll() is None
        record = read_json(self._dirs[workload_id].supervisor) or {}
        pid, start_time = record.get("pid"), record.get("start_time")
        if not isinstance(pid, int) or not isinstance(start_time, int):
            return False
        return is_same_process_alive(pid, start_time)
