"""Placing through the capacity index picks exactly what scoring every node would."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from agent.scheduler import Node, Snapshot, Workload, run_cycle
from agent.scheduler.framework import Session
from agent.scheduler.placement import PodRequest, best_placement, policy
from agent.scheduler.plugins import DEFAULT_PLUGINS
from agent.scheduler.simulate import load

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
REQUESTS = [
    PodRequest(gpus=1),
    PodRequest(gpus=2),
    PodRequest(gpus=1, milli=250),
    PodRequest(gpus=1, milli=500),
    PodRequest(gpus=2, milli=500),
    PodRequest(gpus=1, gpu_memory_mib=20480),
    PodRequest(gpus=0, cpu_milli=4000),
]


@pytest.mark.parametrize("name", ["binpack", "spread", "bestfit", "tessera"])
def test_the_index_chooses_as_a_full_scan_does(name: str) -> None:
    rng = random.Random(7)
    nodes = tuple(Node(f"n{i}", gpus=rng.choice([2, 4, 8]), cpu_milli=64000) for i in range(40))
    session = Session(Snapshot(nodes=nodes, workloads=(Workload("probe", "p"),)), DEFAULT_PLUGINS)
    chosen = policy(name)
    job = session.jobs["probe"]
    every_node = list(session.nodes.values())

    for _ in range(200):
        request = rng.choice(REQUESTS)
        job.request = request
        expected = best_placement(every_node, request, chosen)
        got = best_placement(session.candidate_nodes(job), request, chosen)
        assert (got is None) == (expected is None)
        if expected is None or got is None:
            break
        assert (got[0].name, got[1]) == (expected[0].name, expected[1])
        session.take(job, got[0], got[1])


def test_the_outcome_does_not_depend_on_the_order_workloads_are_listed() -> None:
    snapshot = load(SCENARIOS / "gang-reclaims-across-two-projects.yaml").snapshot
    shuffled = list(snapshot.workloads)
    random.Random(3).shuffle(shuffled)

    assert run_cycle(replace(snapshot, workloads=tuple(shuffled))) == run_cycle(snapshot)
