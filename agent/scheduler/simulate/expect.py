"""Checking a simulated outcome against a scenario's ``expect`` block; every problem is one
readable line."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

KEYS = ("running", "pending", "evicted", "not_evicted", "placement", "share_gpu", "apart", "reason_contains")


def _names(names: Iterable[str]) -> str:
    return "[" + ", ".join(sorted(names)) + "]"


def _state_set(expected: list[str], workloads: dict[str, Any], state: str) -> list[str]:
    actual = {name for name, entry in workloads.items() if entry["state"] == state}
    wanted = set(expected)
    if actual == wanted:
        return []
    problem = f"{state}: expected {_names(wanted)}, got {_names(actual)}"
    if wanted - actual:
        problem += f"; missing {_names(wanted - actual)}"
    if actual - wanted:
        problem += f"; unexpected {_names(actual - wanted)}"
    return [problem]


def _devices(entry: dict[str, Any]) -> set[tuple[str, int]]:
    return {(pod["node"], gpu) for pod in entry.get("pods", ()) for gpu in pod["gpus"]}


def _nodes(entry: dict[str, Any]) -> set[str]:
    return {pod["node"] for pod in entry.get("pods", ())}


def _placement(name: str, wanted: dict[str, Any], entry: dict[str, Any]) -> list[str]:
    nodes = _nodes(entry)
    problems = []
    if entry["state"] != "running":
        return [f"placement of {name}: it is not running ({entry.get('reason', '')})"]
    if "node" in wanted and nodes != {wanted["node"]}:
        problems.append(f"placement of {name}: expected every pod on {wanted['node']}, got {_names(nodes)}")
    if "nodes" in wanted and len(nodes) != int(wanted["nodes"]):
        problems.append(f"placement of {name}: expected {wanted['nodes']} nodes, got {len(nodes)} {_names(nodes)}")
    if "gpus" in wanted:
        gpus = sorted(gpu for pod in entry["pods"] for gpu in pod["gpus"])
        if gpus != sorted(wanted["gpus"]):
            problems.append(f"placement of {name}: expected devices {sorted(wanted['gpus'])}, got {gpus}")
    return problems


def check(expect: dict[str, Any], outcome: dict[str, Any]) -> list[str]:
    """Every way ``outcome`` (simulate's JSON) differs from ``expect``; empty when it holds."""
    workloads: dict[str, Any] = outcome["workloads"]
    problems = [f"unknown expectation {key!r} (known: {', '.join(KEYS)})" for key in expect if key not in KEYS]
    mentioned: set[str] = set()
    for key in ("running", "pending", "evicted", "not_evicted"):
        mentioned.update(expect.get(key) or ())
    for key in ("placement", "reason_contains"):
        mentioned.update(expect.get(key) or {})
    for key in ("share_gpu", "apart"):
        for group in expect.get(key) or ():
            mentioned.update(group)
    problems += [f"expectation names unknown workload {name}" for name in sorted(mentioned - set(workloads))]
    if problems:
        return problems
    for state in ("running", "pending"):
        if state in expect:
            problems += _state_set(list(expect[state] or ()), workloads, state)
    for name in expect.get("evicted") or ():
        if workloads[name]["evictions"] == 0:
            problems.append(f"evicted: expected {name} to have been evicted, it never was")
    for name in expect.get("not_evicted") or ():
        if workloads[name]["evictions"] > 0:
            problems.append(f"not_evicted: {name} was evicted {workloads[name]['evictions']} time(s)")
    for name, wanted in (expect.get("placement") or {}).items():
        problems += _placement(name, wanted or {}, workloads[name])
    for group in expect.get("share_gpu") or ():
        common = set.intersection(*(_devices(workloads[name]) for name in group)) if group else set()
        if not common:
            placed = "; ".join(f"{name} on {sorted(_devices(workloads[name]))}" for name in group)
            problems.append(f"share_gpu: expected {_names(group)} on one device, got {placed}")
    for group in expect.get("apart") or ():
        seen: dict[str, str] = {}
        for name in group:
            for node in _nodes(workloads[name]):
                if node in seen:
                    problems.append(f"apart: {seen[node]} and {name} both run on {node}")
                seen[node] = name
    for name, text in (expect.get("reason_contains") or {}).items():
        reason = workloads[name].get("reason", "")
        if workloads[name]["state"] != "pending" or str(text).lower() not in reason.lower():
            got = reason or "no reason (running)"
            problems.append(f"reason of {name}: expected it to mention {text!r}, got {got!r}")
    return problems
