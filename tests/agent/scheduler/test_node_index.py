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


def test_the_outcome_does_not_depend_on_the_order_workloads_are_listed() -> None:
    snapshot = load(SCENARIOS / "gang-reclaims-across-two-projects.yaml").snapshot
    shuffled = list(snapshot.workloads)
    random.Random(3).shuffle(shuffled)

    assert run_cycle(replace(snapshot, workloads=tuple(shuffled))) == run_cycle(snapshot)


@pytest.mark.parametrize("name", ["binpack", "spread", "bestfit", "fgd", "tessera"])
def test_the_kept_ranking_chooses_as_a_full_scan_does_while_pods_come_and_go(name: str) -> None:
    rng = random.Random(11)
    nodes = tuple(Node(f"n{i}", gpus=rng.choice([2, 4, 8]), cpu_milli=64000) for i in range(40))
    session = Session(Snapshot(nodes=nodes, workloads=(Workload("probe", "p"),), placement=name), DEFAULT_PLUGINS)
    job = session.jobs["probe"]
    every_node = list(session.nodes.values())
    # The policy as the placement plugin makes it from the session.
    context = {"pods": [job.request], "nodes": every_node} if name == "tessera" else {}
    chosen = policy(name, pods=[job.request]) if name == "fgd" else policy(name, **context)
    placed = []

    for step in range(300):
        if placed and rng.random() < 0.3:  # a pod leaves: its node may rank first again
            job.request, pod = placed.pop(rng.randrange(len(placed)))
            session.give(job, pod)
            continue
        job.request = rng.choice(REQUESTS)
        got = session.place_pod(job)
        expected = best_placement(every_node, job.request, chosen)
        assert (got is None) == (expected is None), step
        if got is None or expected is None:
            continue
        assert (got[0].name, got[1]) == (expected[0].name, expected[1]), step
        placed.append((job.request, session.take(job, *got)))


def test_groups_count_the_nodes_in_each_state_leaving_out_those_named() -> None:
    nodes = tuple(Node(f"n{i}", gpus=2) for i in range(5))
    session = Session(Snapshot(nodes=nodes, workloads=(Workload("probe", "p"),)), DEFAULT_PLUGINS)
    job = session.jobs["probe"]
    session.take(job, session.nodes["n1"], (0,))
    session.take(job, session.nodes["n3"], (0,))

    groups = {(node.name, count) for node, count in session.node_groups("default")}
    assert groups == {("n0", 3), ("n1", 2)}  # n0, n2, n4 untouched; n1 and n3 half used

    # A group's node stands for its state, whichever nodes are left out.
    groups = {(node.name, count) for node, count in session.node_groups("default", leaving_out=["n0", "n1"])}
    assert groups == {("n0", 2), ("n1", 1)}
    assert {count for _, count in session.node_groups("default", leaving_out=["n1", "n3"])} == {3}
    assert session.node_groups("elsewhere") == []


def test_a_free_profile_is_the_healthy_devices_free_share_most_first_as_it_changes() -> None:
    nodes = (Node("n0", gpus=4, unhealthy=frozenset({1})), Node("n1", gpus=4))
    session = Session(Snapshot(nodes=nodes, workloads=(Workload("probe", "p", gpu_portion=0.25),)), DEFAULT_PLUGINS)
    job = session.jobs["probe"]
    index = session.index
    assert index is not None
    assert index.free_profile("n0") == [1000, 1000, 1000]

    pod = session.take(job, session.nodes["n0"], (2,))
    session.take(job, session.nodes["n1"], (2,))

    assert index.free_profile("n0") == [1000, 1000, 750]
    assert index.free_profile("n1") == [1000, 1000, 1000, 750]
    session.give(job, pod)
    assert index.free_profile("n0") == [1000, 1000, 1000]
