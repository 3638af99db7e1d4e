"""Reading the Alibaba GPU-sharing trace (cluster-trace-gpu-v2023) into placement types."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from agent.scheduler.placement import MILLI, Device, NodeState, PodRequest

NODE_FILE = "openb_node_list_gpu_node.csv"
TRACE_FOLDER = "alibaba-gpu-2023"


@dataclass(frozen=True)
class TracePod:
    """One row of a pod list: its name, what it asks for, and its GPU request n * m in milli."""

    name: str
    request: PodRequest
    spec: str

    @property
    def gpu_milli(self) -> int:
        """n * m: the GPU milli this pod adds to the arrived total."""
        return self.request.gpus * self.request.milli if self.request.gpus > 0 else 0

    @property
    def share(self) -> int:
        """m: the share of one device (0 for a CPU-only pod), used by the sampling stop rule."""
        return self.request.milli if self.request.gpus > 0 else 0


def pod_from_row(row: dict[str, str]) -> TracePod:
    """A pod row as REPLAY.md reads it: m clamped to [0, 1000], whole GPUs when n > 1, the
    allowed GPU types split on ``|``."""
    gpus = int(row["num_gpu"])
    share = min(MILLI, max(0, int(row["gpu_milli"])))
    if gpus > 1 or gpus <= 0 or share == 0:
        share = MILLI
    spec = row.get("gpu_spec") or ""
    models = frozenset(m for m in spec.split("|") if m) or None
    request = PodRequest(
        gpus=max(gpus, 0),
        milli=share,
        cpu_milli=int(row["cpu_milli"]),
        memory_mib=int(row["memory_mib"]),
        gpu_models=models,
    )
    return TracePod(name=row["name"], request=request, spec=spec)


def load_pods(path: Path) -> list[TracePod]:
    """Every pod of a pod list, whatever its phase, sorted by name."""
    with path.open(newline="") as handle:
        pods = [pod_from_row(row) for row in csv.DictReader(handle)]
    pods.sort(key=lambda pod: pod.name)
    return pods


def load_nodes(path: Path) -> list[NodeState]:
    """The GPU nodes, in file order, each GPU 1000 milli (the trace gives no GPU memory)."""
    nodes = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            cpu, memory = int(row["cpu_milli"]), int(row["memory_mib"])
            devices = [Device(index=i, free_milli=MILLI) for i in range(int(row["gpu"]))]
            nodes.append(
                NodeState(
                    name=row["sn"],
                    devices=devices,
                    gpu_model=row["model"],
                    cpu_free_milli=cpu,
                    memory_free_mib=memory,
                    cpu_total_milli=cpu,
                    memory_total_mib=memory,
                )
            )
    return nodes


def traces_dir(explicit: str | None = None) -> Path:
    """Where the trace files are: ``explicit``, else $TESSERA_TRACES_DIR, else the shared folder
    beside the repository (``../shared/traces/alibaba-gpu-2023``)."""
    if explicit:
        return Path(explicit)
    if os.environ.get("TESSERA_TRACES_DIR"):
        return Path(os.environ["TESSERA_TRACES_DIR"])
    repository = Path(__file__).resolve().parents[3]
    for base in (repository.parent / "shared", Path.cwd().parent / "shared", Path.cwd() / "shared"):
        if (base / "traces" / TRACE_FOLDER).is_dir():
            return base / "traces" / TRACE_FOLDER
    return repository.parent / "shared" / "traces" / TRACE_FOLDER


def resolve_trace(trace: str, folder: Path) -> tuple[str, Path, Path]:
    """(name, pod list, node list) for ``--trace``: a file's middle name (``default``) or a path.
    A path's node list is the one beside it."""
    candidate = Path(trace)
    if candidate.suffix == ".csv" or candidate.exists():
        name = candidate.stem.removeprefix("openb_pod_list_")
        return name, candidate, candidate.parent / NODE_FILE
    return trace, folder / f"openb_pod_list_{trace}.csv", folder / NODE_FILE
