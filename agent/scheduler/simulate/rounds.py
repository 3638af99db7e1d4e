"""Running a scenario: several cycles, applying each cycle's decisions before the next, as the
agent would (an evicted workload waits again under its own name; a placed one runs)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.scheduler.api import Node, RunningPod, Snapshot, Workload
from agent.scheduler.cycle import run_cycle
from agent.scheduler.simulate.loader import Scenario


def _portion(workload: Workload, node: Node | None) -> float:
    if workload.gpus <= 0:
        return 0.0
    if workload.gpu_portion is not None:
        return workload.gpu_portion
    if workload.gpu_memory_mib is not None and node is not None:
        return workload.gpu_memory_mib / node.gpu_memory_mib
    return 1.0


def _pods(workload: Workload, nodes: dict[str, Node]) -> list[dict[str, Any]]:
    pods = []
    for pod in workload.running:
        entry: dict[str, Any] = {
            "node": pod.node,
            "gpus": list(pod.gpus),
            "portion": _portion(workload, nodes.get(pod.node)),
        }
        if workload.gpu_portion_limit is not None:
            entry["portion_limit"] = workload.gpu_portion_limit
        pods.append(entry)
    return pods


def simulate(scenario: Scenario) -> dict[str, Any]:
    """Run ``scenario``'s rounds and return the outcome in the JSON shape of SCENARIOS.md."""
    snapshot: Snapshot = scenario.snapshot
    workloads = {workload.name: workload for workload in snapshot.workloads}
    evictions = dict.fromkeys(workloads, 0)
    reasons: dict[str, str] = {}
    for _ in range(scenario.rounds):
        outcome = run_cycle(replace(snapshot, workloads=tuple(workloads.values())))
        for name in outcome.evictions:
            evictions[name] += 1
            workloads[name] = replace(workloads[name], running=())
        for name, pods in outcome.placements.items():
            started = tuple(RunningPod(node=pod.node, gpus=pod.gpus, started_at=snapshot.now) for pod in pods)
            workloads[name] = replace(workloads[name], running=started)
        reasons = dict(outcome.pending)
    nodes = {node.name: node for node in snapshot.nodes}
    result: dict[str, Any] = {}
    for name, workload in workloads.items():
        if workload.running:
            result[name] = {"state": "running", "evictions": evictions[name], "pods": _pods(workload, nodes)}
        else:
            result[name] = {"state": "pending", "evictions": evictions[name], "reason": reasons.get(name, "")}
    return {"workloads": result, "rounds": scenario.rounds}
