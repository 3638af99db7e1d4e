"""Reading a scenario file (SCENARIOS.md) into a snapshot, a round count and expectations.

The only place the scheduler reads YAML; the core never sees a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.scheduler.api import (
    DEFAULT_GPU_MEMORY_MIB,
    DEFAULT_POOL,
    PRIORITY_CLASSES,
    Node,
    PoolQuota,
    Queue,
    RunningPod,
    Snapshot,
    Workload,
)
from agent.scheduler.placement import CPU_POLICY_NAMES, MILLI

DEFAULT_ROUNDS = 3


class ScenarioError(ValueError):
    """A scenario file that does not follow the format; the message says where."""


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario: the starting snapshot, how many cycles to run, what to expect."""

    name: str
    snapshot: Snapshot
    rounds: int = DEFAULT_ROUNDS
    description: str = ""
    expect: dict[str, Any] = field(default_factory=dict)


def load(path: str | Path) -> Scenario:
    """Read and parse the scenario file at ``path``."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping with name, nodes, queues and workloads")
    return parse(data)


def parse(data: dict[str, Any]) -> Scenario:
    """Build a :class:`Scenario` from a scenario's parsed YAML."""
    if not data.get("name"):
        raise ScenarioError("a scenario needs a name")
    config = data.get("config") or {}
    cpu_placement = config.get("cpu_placement")  # Tessera's own key: a pool's CPU placement strategy
    if cpu_placement is not None and cpu_placement not in CPU_POLICY_NAMES:
        raise ScenarioError(f"config.cpu_placement must be one of {', '.join(CPU_POLICY_NAMES)}, not {cpu_placement!r}")
    snapshot = Snapshot(
        nodes=tuple(_node(item) for item in data.get("nodes") or ()),
        queues=tuple(_queue(item) for item in data.get("queues") or ()),
        workloads=tuple(_workload(item, i) for i, item in enumerate(data.get("workloads") or ())),
        now=float(config.get("now", 0)),
        placement=str(config.get("placement", "binpack")),
        consolidation=bool(config.get("consolidation", True)),
        cpu_placement=cpu_placement,
    )
    _unique("node", [node.name for node in snapshot.nodes])
    _unique("workload", [workload.name for workload in snapshot.workloads])
    return Scenario(
        name=str(data["name"]),
        snapshot=snapshot,
        rounds=int(config.get("rounds", DEFAULT_ROUNDS)),
        description=str(data.get("description") or ""),
        expect=dict(data.get("expect") or {}),
    )


def _unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ScenarioError(f"{kind} {name} is declared twice")
        seen.add(name)


def _required(item: dict[str, Any], key: str, kind: str) -> Any:
    if not isinstance(item, dict) or key not in item:
        raise ScenarioError(f"every {kind} needs a {key}: {item!r}")
    return item[key]


def _milli(gpus: float) -> int:
    return -1 if gpus < 0 else round(float(gpus) * MILLI)


def _node(item: dict[str, Any]) -> Node:
    name = str(_required(item, "name", "node"))
    return Node(
        name=name,
        pool=str(item.get("pool", DEFAULT_POOL)),
        gpus=int(item.get("gpus", 0)),
        gpu_memory_mib=int(item.get("gpu_memory_mib", DEFAULT_GPU_MEMORY_MIB)),
        gpu_model=str(item.get("gpu_model", "")),
        cpu_milli=None if item.get("cpu_milli") is None else int(item["cpu_milli"]),
        memory_mib=None if item.get("memory_mib") is None else int(item["memory_mib"]),
        unhealthy=frozenset(int(i) for i in item.get("unhealthy_gpus", ())),
    )


def _quota(item: dict[str, Any]) -> PoolQuota:
    return PoolQuota(
        deserved_milli=_milli(float(item.get("deserved_gpus", 0))),
        over_quota_weight=float(item.get("over_quota_weight", 1)),
        limit_milli=_milli(float(item.get("limit_gpus", -1))),
        cpu_deserved_milli=None if item.get("deserved_cpu_milli") is None else int(item["deserved_cpu_milli"]),
        cpu_limit_milli=int(item.get("limit_cpu_milli", -1)),
        memory_deserved_mib=None if item.get("deserved_memory_mib") is None else int(item["deserved_memory_mib"]),
        memory_limit_mib=int(item.get("limit_memory_mib", -1)),
    )


def _queue(item: dict[str, Any]) -> Queue:
    name = str(_required(item, "name", "queue"))
    quotas = {DEFAULT_POOL: _quota(item)}
    for pool, quota in (item.get("pools") or {}).items():
        quotas[str(pool)] = _quota(quota or {})
    min_runtime = item.get("min_runtime_s")
    return Queue(
        name=name,
        parent=None if item.get("parent") is None else str(item["parent"]),
        quotas=quotas,
        min_runtime_s=None if min_runtime is None else float(min_runtime),
    )


def _priority(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if str(value) in PRIORITY_CLASSES:
        return PRIORITY_CLASSES[str(value)]
    choices = ", ".join(PRIORITY_CLASSES)
    raise ScenarioError(f"workload {name}: priority {value!r} is neither an integer nor one of {choices}")


def _workload(item: dict[str, Any], position: int) -> Workload:
    name = str(_required(item, "name", "workload"))
    project = str(_required(item, "project", "workload"))
    models = item.get("gpu_models", item.get("gpu_model"))
    if isinstance(models, str):
        models = [models]
    portion = item.get("gpu_portion")
    if portion is not None and not 0 < float(portion) <= 1:
        raise ScenarioError(f"workload {name}: gpu_portion must be in (0, 1], not {portion}")
    if item.get("gpu_memory_mib") is not None and portion is not None:
        raise ScenarioError(f"workload {name}: give gpu_portion or gpu_memory_mib, not both")
    limit = item.get("gpu_portion_limit")
    if limit is not None and not float(portion if portion is not None else 0) <= float(limit) <= 1:
        raise ScenarioError(f"workload {name}: gpu_portion_limit must lie between gpu_portion and 1, not {limit}")
    if int(item.get("pods", 1)) < 1 or int(item.get("gpus", 1)) < 0:
        raise ScenarioError(f"workload {name}: pods must be at least 1 and gpus at least 0")
    running = tuple(
        RunningPod(
            node=str(_required(pod, "node", f"running pod of {name}")),
            gpus=tuple(int(i) for i in pod.get("gpus", ())),
            started_at=float(pod.get("started_at", 0)),
        )
        for pod in item.get("running") or ()
    )
    return Workload(
        name=name,
        project=project,
        priority=_priority(item.get("priority", "train"), name),
        preemptible=None if item.get("preemptible") is None else bool(item["preemptible"]),
        pool=str(item.get("pool", DEFAULT_POOL)),
        pods=int(item.get("pods", 1)),
        gpus=int(item.get("gpus", 1)),
        gpu_portion=None if portion is None else float(portion),
        gpu_memory_mib=None if item.get("gpu_memory_mib") is None else int(item["gpu_memory_mib"]),
        gpu_portion_limit=None if limit is None else float(limit),
        cpu_milli=int(item.get("cpu_milli", 0)),
        memory_mib=int(item.get("memory_mib", 0)),
        gpu_models=None if not models else frozenset(str(m) for m in models),
        submitted_at=float(item.get("submitted_at", position)),
        running=running,
    )
