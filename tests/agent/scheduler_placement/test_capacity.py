"""Feasibility and bookkeeping: what fits where, and taking and giving back never oversubscribes."""

from __future__ import annotations

import copy

import pytest

from agent.scheduler.placement import MILLI, PodRequest, candidates, fits, give_back, pick_devices, take
from tests.agent.scheduler_placement.helpers import frees, node


def test_a_whole_gpu_pod_takes_only_an_entirely_free_device():
    state = node(frees=(600, MILLI))
    assert pick_devices(state, PodRequest(gpus=1)) == (1,)
    take(state, PodRequest(gpus=1), (1,))
    assert frees(state) == [600, 0]
    assert not fits(state, PodRequest(gpus=1))


def test_a_shared_pod_joins_the_tightest_device_that_still_fits():
    state = node(frees=(MILLI, 300, 600))
    assert pick_devices(state, PodRequest(gpus=1, milli=250)) == (1,)
    assert pick_devices(state, PodRequest(gpus=1, milli=500)) == (2,)
    assert pick_devices(state, PodRequest(gpus=1, milli=700)) == (0,)


def test_shares_never_add_up_to_more_than_the_device():
    state = node(frees=(MILLI,))
    half = PodRequest(gpus=1, milli=500)
    take(state, half, (0,))
    take(state, half, (0,))
    assert frees(state) == [0]
    assert not fits(state, PodRequest(gpus=1, milli=1))
    with pytest.raises(ValueError):
        take(state, half, (0,))
    assert frees(state) == [0]


def test_a_memory_request_becomes_a_share_of_each_device_rounded_up():
    state = node(frees=(MILLI,), memory_mib=3000)
    pod = PodRequest(gpus=1, gpu_memory_mib=1000)
    take(state, pod, (0,))
    assert frees(state) == [MILLI - 334]
    assert state.devices[0].free_memory_mib == 2000
    take(state, pod, (0,))
    assert frees(state) == [MILLI - 668]
    assert state.devices[0].free_memory_mib == 1000
    assert not fits(state, pod), "a third share of 334 would pass 1000 milli: shares round up, never over"
    assert fits(state, PodRequest(gpus=1, milli=332))


def test_a_memory_request_needs_a_device_with_that_much_memory():
    assert not fits(node(frees=(MILLI,), memory_mib=16000), PodRequest(gpus=1, gpu_memory_mib=20000))
    assert not fits(node(frees=(MILLI,)), PodRequest(gpus=1, gpu_memory_mib=100))


def test_a_share_also_takes_its_part_of_the_device_memory():
    state = node(frees=(MILLI,), memory_mib=40000)
    take(state, PodRequest(gpus=1, milli=750), (0,))
    assert state.devices[0].free_memory_mib == 10000
    assert not fits(state, PodRequest(gpus=1, gpu_memory_mib=12000))
    assert fits(state, PodRequest(gpus=1, gpu_memory_mib=10000))


def test_a_multi_gpu_pod_needs_that_many_entirely_free_devices():
    state = node(frees=(MILLI, 500, MILLI, MILLI))
    assert pick_devices(state, PodRequest(gpus=3)) == (0, 2, 3)
    assert pick_devices(state, PodRequest(gpus=4)) is None


def test_several_devices_at_one_portion_each_need_that_portion():
    state = node(frees=(MILLI, 400, 600, 500))
    pod = PodRequest(gpus=2, milli=500)
    assert not pod.shared
    assert pick_devices(state, pod) == (2, 3)
    take(state, pod, (2, 3))
    assert frees(state) == [MILLI, 400, 100, 0]


def test_a_cpu_only_pod_uses_no_device_but_needs_cpu_and_memory():
    state = node(cpu=4000, ram=8000)
    assert pick_devices(state, PodRequest(cpu_milli=4000, memory_mib=8000)) == ()
    assert not fits(state, PodRequest(cpu_milli=4001))
    assert not fits(state, PodRequest(memory_mib=8001))
    take(state, PodRequest(cpu_milli=1000, memory_mib=2000), ())
    assert (state.cpu_free_milli, state.memory_free_mib) == (3000, 6000)


def test_unlimited_cpu_and_memory_when_the_node_does_not_say():
    assert fits(node(), PodRequest(gpus=1, cpu_milli=10**9, memory_mib=10**9))


def test_gpu_types_and_pools_restrict_nodes():
    a100 = node(model="A100", pool="train")
    assert fits(a100, PodRequest(gpus=1, gpu_models=frozenset({"A100", "H100"})))
    assert not fits(a100, PodRequest(gpus=1, gpu_models=frozenset({"T4"})))
    assert not fits(a100, PodRequest(gpus=1, pool="serve"))
    assert fits(a100, PodRequest(gpus=1, pool="train"))
    assert fits(a100, PodRequest(cpu_milli=1, gpu_models=frozenset({"T4"}))), "GPU types only matter to GPU pods"


def test_an_unhealthy_device_is_never_chosen():
    state = node(frees=(MILLI, MILLI))
    state.devices[0].healthy = False
    assert pick_devices(state, PodRequest(gpus=1)) == (1,)
    assert pick_devices(state, PodRequest(gpus=2)) is None
    assert state.free_whole_devices() == 1
    assert state.free_gpu_milli() == MILLI
    with pytest.raises(ValueError):
        take(state, PodRequest(gpus=1), (0,))


def test_take_checks_everything_before_changing_anything():
    state = node(frees=(MILLI, 200), cpu=1000)
    before = copy.deepcopy(state)
    for pod, devices in [
        (PodRequest(gpus=2), (0, 1)),
        (PodRequest(gpus=1), (0, 0)),
        (PodRequest(gpus=1), (7,)),
        (PodRequest(gpus=1), ()),
        (PodRequest(gpus=1, cpu_milli=2000), (0,)),
    ]:
        with pytest.raises(ValueError):
            take(state, pod, devices)
    assert state == before


@pytest.mark.parametrize(
    "pod",
    [
        PodRequest(gpus=1, cpu_milli=500, memory_mib=100),
        PodRequest(gpus=1, milli=300, cpu_milli=500),
        PodRequest(gpus=1, gpu_memory_mib=5000),
        PodRequest(gpus=2, milli=250),
        PodRequest(gpus=2),
        PodRequest(cpu_milli=700, memory_mib=700),
    ],
)
def test_take_then_give_back_restores_the_node_exactly(pod):
    state = node(frees=(MILLI, 700, MILLI), memory_mib=16000, cpu=8000, ram=16000)
    before = copy.deepcopy(state)
    devices = pick_devices(state, pod)
    assert devices is not None
    take(state, pod, devices)
    assert state != before
    give_back(state, pod, devices)
    assert state == before
    assert state.version == 2


def test_give_back_refuses_to_free_more_than_the_node_has():
    state = node(frees=(MILLI,), cpu=1000)
    with pytest.raises(ValueError):
        give_back(state, PodRequest(gpus=1, milli=100), (0,))
    with pytest.raises(ValueError):
        give_back(state, PodRequest(cpu_milli=1), ())
    assert frees(state) == [MILLI] and state.cpu_free_milli == 1000


def test_a_shared_pod_is_offered_one_device_per_distinct_state_tightest_first():
    state = node(frees=(MILLI, 600, 300, 600, 100))
    assert candidates(state, PodRequest(gpus=1, milli=250)) == [(2,), (1,), (0,)]
    assert candidates(state, PodRequest(gpus=1)) == [(0,)]


@pytest.mark.parametrize(
    "fields", [{"gpus": -1}, {"gpus": 1, "milli": 0}, {"gpus": 1, "milli": 1001}, {"gpus": 1, "gpu_memory_mib": 0}]
)
def test_impossible_requests_are_refused(fields):
    with pytest.raises(ValueError):
        PodRequest(**fields)
