"""The expected fragment of a node under a workload distribution (REPLAY.md, FGD)."""

from __future__ import annotations

import pytest

from agent.scheduler.placement import MILLI, FillModel, FragmentModel, PodRequest, WorkloadClass, distribution
from agent.scheduler.placement.fill import type_scarcity
from tests.agent.scheduler_placement.helpers import node

WHOLE = WorkloadClass(gpus=1, milli=MILLI)
HALF = WorkloadClass(gpus=1, milli=500)


def test_distribution_keeps_the_most_common_groups_until_they_cover_95_percent():
    common = PodRequest(gpus=1, milli=500, cpu_milli=4000)
    rare = PodRequest(gpus=2, cpu_milli=8000)
    assert distribution([common] * 19 + [rare]) == (WorkloadClass(1, 500, 4000, None, 19),)
    assert distribution([common] * 18 + [rare] * 2) == (
        WorkloadClass(1, 500, 4000, None, 18),
        WorkloadClass(2, MILLI, 8000, None, 2),
    )


def test_distribution_groups_by_cpu_share_devices_and_gpu_types_only():
    pods = [
        PodRequest(gpus=1, milli=500, memory_mib=1),
        PodRequest(gpus=1, milli=500, memory_mib=2),
        PodRequest(gpus=1, milli=500, gpu_models=frozenset({"T4"})),
        PodRequest(cpu_milli=1000),
    ]
    classes = distribution(pods, coverage=1.0)
    assert classes[0] == WorkloadClass(1, 500, 0, None, 2)
    assert set(classes[1:]) == {WorkloadClass(1, 500, 0, frozenset({"T4"}), 1), WorkloadClass(0, 0, 1000, None, 1)}


def test_a_device_too_small_for_a_class_is_its_fragment():
    model = FragmentModel([WHOLE, HALF])
    state = node(frees=(MILLI, 300, 600))
    # whole GPUs: 300 + 600 unusable; halves: 300 unusable.
    assert model.node_fragment(state) == 900 + 300


def test_a_node_that_cannot_host_a_class_is_all_fragment_for_it():
    model = FragmentModel([WorkloadClass(gpus=2, milli=MILLI), WorkloadClass(gpus=1, milli=500, cpu_milli=4000)])
    assert model.node_fragment(node(frees=(MILLI, 700), cpu=8000)) == 1700 + 0
    assert model.node_fragment(node(frees=(MILLI, 700), cpu=3000)) == 1700 + 1700


def test_cpu_only_classes_and_disallowed_gpu_types_count_every_free_gpu():
    model = FragmentModel(
        [WorkloadClass(gpus=0, milli=0, cpu_milli=1000), WorkloadClass(1, 500, 0, frozenset({"A100"}))]
    )
    assert model.node_fragment(node(frees=(MILLI, 200), model="T4")) == 1200 * 2
    assert model.node_fragment(node(frees=(MILLI, 200), model="A100")) == 1200 + 200


def test_counts_weight_the_classes_and_the_ratio_divides_by_free_capacity():
    model = FragmentModel([WorkloadClass(1, MILLI, count=3), WorkloadClass(1, 500, count=1)])
    nodes = [node("a", (MILLI, 300)), node("b", (0, 600))]
    # a: whole 300 x 3, half 300 x 1; b: whole 600 x 3, half 0.
    assert [model.node_fragment(n) for n in nodes] == [1200, 1800]
    assert model.ratio(nodes) == pytest.approx(100 * 3000 / (4 * 1900))


def test_an_unhealthy_device_offers_no_free_capacity():
    state = node(frees=(MILLI, 300))
    state.devices[0].healthy = False
    assert FragmentModel([WHOLE]).node_fragment(state) == 300


def test_a_cached_fragment_follows_the_node_version():
    model = FragmentModel([WHOLE])
    state = node(frees=(MILLI, MILLI))
    assert model.node_fragment(state) == 0
    state.devices[0].free_milli = 400
    state.version += 1
    assert model.node_fragment(state) == 400


def test_fill_counts_the_gpus_a_class_could_not_use_for_want_of_cpu():
    model = FillModel([WorkloadClass(gpus=1, milli=MILLI, cpu_milli=4000)])
    # 3 free GPUs, CPU for 2 of those pods: 1000 stranded.
    assert model.node_fragment(node(frees=(MILLI,) * 3, cpu=8000)) == 1000
    assert model.node_fragment(node(frees=(MILLI,) * 3)) == 0


def test_fill_counts_device_remainders_shares_cannot_use():
    model = FillModel([WorkloadClass(gpus=1, milli=300, count=2)])
    # 3 shares fit the free device, 1 the half one: 1500 - 4 x 300 = 300 unused, counted twice.
    assert model.node_fragment(node(frees=(MILLI, 500))) == 600


def test_fill_multi_gpu_classes_need_whole_devices():
    model = FillModel([WorkloadClass(gpus=2, milli=MILLI), WorkloadClass(1, 500, 0, frozenset({"T4"}))])
    # Two pairs of free GPUs use 4000 of 4700; the T4-only class can use none of an A100 node.
    assert model.node_fragment(node(frees=(MILLI,) * 4 + (700,), model="A100")) == 700 + 4700


def test_type_scarcity_is_constrained_demand_per_unit_of_the_capacity_it_may_use():
    classes = [
        WorkloadClass(1, MILLI, count=2),
        WorkloadClass(1, 500, 0, frozenset({"P100"}), count=1),
        WorkloadClass(2, MILLI, 0, frozenset({"P100", "G2"}), count=1),
    ]
    nodes = [node("p", (MILLI,) * 2, model="P100"), node("g", (MILLI,) * 8, model="G2")]
    # P100-only halves: 1/4 x 500 / 2000; the pairs: 1/4 x 2000 / 10000 on both types.
    scarcity = type_scarcity(classes, nodes)
    assert scarcity["P100"] == pytest.approx(0.25 * 500 / 2000 + 0.25 * 2000 / 10000)
    assert scarcity["G2"] == pytest.approx(0.25 * 2000 / 10000)
    assert type_scarcity(classes, []) == {}


def test_fill_can_leave_out_classes_that_may_not_use_the_node_type():
    classes = [WorkloadClass(1, MILLI), WorkloadClass(1, MILLI, 0, frozenset({"T4"}))]
    a100 = node(frees=(MILLI, MILLI), model="A100")
    assert FillModel(classes).node_fragment(a100) == 2000
    assert FillModel(classes, other_types=False).node_fragment(a100) == 0
