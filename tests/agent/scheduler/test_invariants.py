"""Rules that hold on any cluster: random small snapshots run for ten rounds.

Each round must be deterministic, evict only preemptible work and only when something starts,
keep every queue within its limit and non-preemptible work within deserved quota, and the
cluster must settle (no evictions in the last rounds).
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from agent.scheduler import Node, PoolQuota, Queue, RunningPod, Snapshot, Workload, run_cycle
from agent.scheduler.framework import Session
from agent.scheduler.plugins import DEFAULT_PLUGINS

ROUNDS = 10
SETTLED_AFTER = 6


def quota(rng: random.Random, deserved: list[int], limits: list[int]) -> PoolQuota:
    return PoolQuota(rng.choice(deserved), rng.choice([0, 1, 2]), rng.choice(limits))


def random_snapshot(seed: int) -> Snapshot:
    rng = random.Random(seed)
    nodes = tuple(
        Node(f"n{i}", gpus=rng.choice([1, 2, 4]), pool=rng.choice(["default", "default", "x"]))
        for i in range(rng.randint(1, 4))
    )
    departments = [
        Queue(f"d{d}", quotas={"default": quota(rng, [0, 1000, 4000], [-1, -1, 3000]), "x": PoolQuota(2000)})
        for d in range(rng.randint(1, 2))
    ]
    projects = [
        Queue(
            f"p{p}",
            parent=departments[p % len(departments)].name,
            quotas={
                "default": replace(
                    quota(rng, [0, 500, 1000, 2000], [-1, -1, 1500]), cpu_limit_milli=rng.choice([-1, 8000])
                ),
                "x": PoolQuota(1000),
            },
            min_runtime_s=rng.choice([None, None, 100.0]),
        )
        for p in range(rng.randint(1, 4))
    ]
    workloads = []
    for i in range(rng.randint(2, 12)):
        shape: dict[str, Any] = rng.choice(
            [
                {},
                {"gpu_portion": 0.5},
                {"gpu_portion": 0.25},
                {"gpus": 2},
                {"pods": 2, "gpus": 1},
                {"gpus": 0, "cpu_milli": 4000},
                {"cpu_milli": 2000},
            ]
        )
        workloads.append(
            Workload(
                name=f"w{i}",
                project=rng.choice(projects).name,
                priority=rng.choice([20, 50, 50, 75, 100, 125]),
                pool=rng.choice(["default", "default", "x"]),
                submitted_at=rng.randint(0, 20),
                **shape,
            )
        )
    return Snapshot(
        nodes=nodes,
        queues=tuple(departments + projects),
        workloads=tuple(workloads),
        now=1000.0,
        placement=rng.choice(["binpack", "spread"]),
    )


def settle(snapshot: Snapshot, rounds: int) -> dict[str, Workload]:
    """The workloads after ``rounds`` cycles with each cycle's decisions applied."""
    workloads = {w.name: w for w in snapshot.workloads}
    for _ in range(rounds):
        apply(workloads, run_cycle(replace(snapshot, workloads=tuple(workloads.values()))))
    return workloads


def apply(workloads: dict[str, Workload], outcome: Any) -> None:
    for name in outcome.evictions:
        workloads[name] = replace(workloads[name], running=())
    for name, pods in outcome.placements.items():
        workloads[name] = replace(workloads[name], running=tuple(RunningPod(p.node, p.gpus) for p in pods))


@pytest.mark.parametrize("seed", range(60))
def test_rules_hold_round_after_round(seed: int) -> None:
    snapshot = random_snapshot(seed)
    # The first half settles alone (borrowing idle GPUs), then the rest arrives.
    half = len(snapshot.workloads) // 2
    workloads = settle(replace(snapshot, workloads=snapshot.workloads[:half]), 3)
    workloads.update({w.name: w for w in snapshot.workloads[half:]})
    evictions_per_round = []
    for _ in range(ROUNDS):
        current = replace(snapshot, workloads=tuple(workloads.values()))
        outcome = run_cycle(current)
        assert run_cycle(current) == outcome
        assert all(workloads[name].is_preemptible for name in outcome.evictions)
        stopped = [name for name in outcome.evictions if name not in outcome.placements]
        started = [name for name in outcome.placements if name not in outcome.evictions]
        assert not stopped or started, f"{stopped} evicted and nothing started"
        evictions_per_round.append(len(outcome.evictions))
        apply(workloads, outcome)
        session = Session(replace(snapshot, workloads=tuple(workloads.values())), DEFAULT_PLUGINS)
        for (queue, pool), used in session.allocated.items():
            rules = session.tree.queues[queue].quota(pool)
            assert rules.limit_milli < 0 or used <= rules.limit_milli
            assert session.non_preemptible[queue, pool] <= rules.deserved_milli
            assert rules.cpu_limit_milli < 0 or session.held[queue, pool, "cpu"] <= rules.cpu_limit_milli
    assert sum(evictions_per_round[SETTLED_AFTER:]) == 0, evictions_per_round
