"""Policies rank feasible placements; best_placement picks the best one, ties to the earlier node."""

from __future__ import annotations

import random

import pytest

from agent.scheduler.placement import (
    MILLI,
    POLICY_NAMES,
    NodeIndex,
    PodRequest,
    WorkloadClass,
    best_placement,
    policy,
    take,
)
from agent.scheduler.placement.tessera import demand_weighted
from tests.agent.scheduler_placement.helpers import node

HALVES = (WorkloadClass(gpus=1, milli=500),)


def place(nodes, pod, name, **context):
    found = best_placement(nodes, pod, policy(name, **context))
    assert found is not None
    return found[0].name, found[1]


def test_binpack_fills_the_most_used_node_first():
    nodes = [node("empty", (MILLI, MILLI)), node("half", (0, MILLI))]
    assert place(nodes, PodRequest(gpus=1), "binpack") == ("half", (1,))
    assert place(nodes, PodRequest(gpus=1, milli=300), "binpack") == ("half", (1,))


def test_binpack_is_the_default_policy():
    assert policy().name == "binpack"


def test_spread_uses_the_least_used_node_and_device_first():
    nodes = [node("half", (0, MILLI)), node("big", (400, MILLI, MILLI)), node("empty", (MILLI, MILLI))]
    assert place(nodes, PodRequest(gpus=1), "spread") == ("big", (1,))
    assert place(nodes, PodRequest(gpus=1, milli=300), "spread")[1] == (1,)


def test_bestfit_scores_as_replay_md_defines_it():
    state = node(frees=(MILLI,) * 8, cpu=64000)
    pod = PodRequest(gpus=1, cpu_milli=8000)
    # 1 - (56000 / 128000) / 2 - (7000 / 8000) / 2
    assert policy("bestfit").score(state, pod, (0,)) == pytest.approx(0.34375)


def test_bestfit_prefers_the_node_left_with_least_free_capacity():
    roomy = node("roomy", (MILLI, MILLI), cpu=64000)
    tight = node("tight", (MILLI, 600), cpu=64000)
    assert place([roomy, tight], PodRequest(gpus=1, milli=500), "bestfit") == ("tight", (1,))


def test_bestfit_puts_a_shared_pod_on_the_tightest_device_of_the_node():
    assert place([node(frees=(MILLI, 900, 600, 700))], PodRequest(gpus=1, milli=500), "bestfit")[1] == (2,)


@pytest.mark.parametrize("name", ["tessera", "fgd"])
def test_fragmentation_aware_policies_avoid_leaving_unusable_slivers(name):
    # Only half GPUs arrive. On "whole" the pod leaves 700 free, still room for a half: no new
    # fragment. On "tight" it leaves 300, which no half can use: +300 of fragment. Best fit
    # would pick "tight".
    whole, tight = node("whole", (MILLI,)), node("tight", (600,))
    pod = PodRequest(gpus=1, milli=300)
    assert place([whole, tight], pod, "bestfit") == ("tight", (0,))
    assert place([whole, tight], pod, name, distribution=HALVES) == ("whole", (0,))


def test_tessera_fills_a_hole_exactly_rather_than_break_a_whole_device():
    # Whole GPUs and 0.4 shares arrive. A 0.4 share on the 0.4 hole leaves nothing behind; on
    # the free device it would leave 0.6, useless to whole GPUs.
    classes = (WorkloadClass(gpus=1, milli=MILLI, count=3), WorkloadClass(gpus=1, milli=400))
    nodes = [node("free", (MILLI, MILLI)), node("hole", (400, MILLI))]
    assert place(nodes, PodRequest(gpus=1, milli=400), "tessera", distribution=classes) == ("hole", (0,))


def test_fragmentation_aware_policies_learn_the_distribution_from_pods():
    pods = [PodRequest(gpus=1, milli=500)] * 10
    whole, tight = node("whole", (MILLI,)), node("tight", (600,))
    assert place([whole, tight], PodRequest(gpus=1, milli=300), "tessera", pods=pods) == ("whole", (0,))


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_ties_go_to_the_earlier_node(name):
    a, b = node("a"), node("b")
    assert place([a, b], PodRequest(gpus=1), name)[0] == "a"
    assert place([b, a], PodRequest(gpus=1), name)[0] == "b"


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_nothing_feasible_gives_none(name):
    nodes = [node("full", (0, 0)), node("t4", model="T4")]
    assert best_placement(nodes, PodRequest(gpus=1, gpu_models=frozenset({"A100"})), policy(name)) is None
    assert best_placement([], PodRequest(gpus=1), policy(name)) is None


def test_an_unknown_policy_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="binpack"):
        policy("random")


def _cluster(rng: random.Random) -> list:
    return [
        node(f"n{i}", tuple(rng.choice((MILLI, MILLI, 500, 0)) for _ in range(rng.choice((1, 2, 4)))), cpu=32000)
        for i in range(12)
    ]


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_an_index_gives_the_same_placements_as_the_plain_list(name):
    rng = random.Random(7)
    plain, indexed = _cluster(random.Random(3)), _cluster(random.Random(3))
    index = NodeIndex(indexed)
    chosen = policy(name)
    pods = [PodRequest(gpus=1, milli=250, cpu_milli=1000), PodRequest(gpus=1, cpu_milli=2000)]
    pods += [PodRequest(gpus=2, cpu_milli=4000), PodRequest(cpu_milli=3000), PodRequest(gpus=1, milli=700)]
    for _ in range(60):
        pod = rng.choice(pods)
        expected = best_placement(plain, pod, chosen)
        got = best_placement(index, pod, chosen)
        assert (got is None) == (expected is None)
        if expected is not None:
            assert got is not None and (got[0].name, got[1]) == (expected[0].name, expected[1])
            take(expected[0], pod, expected[1])
            index.take(got[0], pod, got[1])
    assert [n.free_gpu_milli() for n in plain] == [n.free_gpu_milli() for n in indexed]


def test_placement_is_deterministic():
    pod = PodRequest(gpus=1, milli=300, cpu_milli=500)
    results = {place(_cluster(random.Random(5)), pod, "tessera") for _ in range(3)}
    assert len(results) == 1


def test_tessera_keeps_cpu_where_free_gpus_need_it():
    # Whole GPUs with 4 cores each arrive. On "lean" (4 GPUs, 16 cores) an 8-core pod would leave
    # 3 GPUs but cores for only 2 of them; on "rich" nothing is stranded. FGD sees no difference.
    classes = (WorkloadClass(gpus=1, milli=MILLI, cpu_milli=4000),)
    lean, rich = node("lean", (MILLI,) * 4, cpu=16000), node("rich", (MILLI,) * 4, cpu=64000)
    pod = PodRequest(gpus=1, cpu_milli=8000)
    assert place([lean, rich], pod, "fgd", distribution=classes)[0] == "lean"
    assert place([lean, rich], pod, "tessera", distribution=classes)[0] == "rich"


def test_tessera_puts_cpu_only_pods_where_no_gpu_needs_the_cpu():
    classes = (WorkloadClass(gpus=1, milli=MILLI, cpu_milli=4000),)
    idle, busy = node("idle", (MILLI, MILLI), cpu=8000), node("busy", (0, 0), cpu=8000)
    pod = PodRequest(cpu_milli=4000)
    assert place([idle, busy], pod, "fgd", distribution=classes)[0] == "idle"
    assert place([idle, busy], pod, "tessera", distribution=classes)[0] == "busy"


def test_an_index_follows_capacity_given_back():
    nodes = [node("a", (MILLI,)), node("b", (MILLI,))]
    index = NodeIndex(nodes)
    chosen = policy("binpack")
    pod = PodRequest(gpus=1)
    first = best_placement(index, pod, chosen)
    assert first is not None and first[0].name == "a"
    index.take(first[0], pod, first[1])
    second = best_placement(index, pod, chosen)
    assert second is not None and second[0].name == "b"
    index.take(second[0], pod, second[1])
    assert best_placement(index, pod, chosen) is None
    index.give_back(nodes[1], pod, (0,))
    again = best_placement(index, pod, chosen)
    assert again is not None and again[0].name == "b"


def test_tessera_tie_break_weighs_each_class_by_the_gpus_it_takes():
    # An 8-GPU class arriving once counts as much as sqrt(8) arrivals of one GPU; four quarter
    # shares as two: whole free nodes matter to the rare big pods in proportion to what they take.
    classes = (WorkloadClass(gpus=8, milli=MILLI, count=1), WorkloadClass(gpus=1, milli=250, count=4))
    assert [c.count for c in demand_weighted(classes, 0.5)] == [3, 2]
    assert policy("tessera", distribution=classes).fill.classes == demand_weighted(classes, 0.5)


def test_demand_weighting_keeps_every_class_and_power_zero_keeps_the_counts():
    classes = (WorkloadClass(gpus=0, milli=0, cpu_milli=8000, count=3), WorkloadClass(gpus=1, milli=10, count=1))
    assert [c.count for c in demand_weighted(classes, 1.0)] == [1, 1]
    assert demand_weighted(classes, 0) == classes
