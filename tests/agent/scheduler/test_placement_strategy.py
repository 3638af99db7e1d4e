"""The scheduler places with the snapshot's policy exactly as the trace replay builds it."""

from __future__ import annotations

import pytest

from agent.scheduler import Node, RunningPod, Snapshot, Workload, run_cycle

HALF = 0.5


def test_tessera_spares_the_gpu_type_that_pinned_work_depends_on() -> None:
    # Only the H100 node can run pinned work; a pod free to go anywhere should leave it room.
    nodes = (
        Node("h100-node", gpus=2, gpu_model="H100", cpu_milli=64000),
        Node("a100-node", gpus=2, gpu_model="A100", cpu_milli=64000),
    )
    workloads = (
        Workload("pinned", "p", gpus=1, gpu_portion=HALF, cpu_milli=1000, gpu_models=frozenset({"H100"})),
        Workload("two-halves", "p", gpus=2, gpu_portion=HALF, cpu_milli=1000, submitted_at=1.0),
        Workload("anywhere", "p", gpus=1, gpu_portion=HALF, cpu_milli=1000, submitted_at=2.0),
    )

    outcome = run_cycle(Snapshot(nodes=nodes, workloads=workloads, placement="tessera"))

    assert outcome.placements["pinned"][0].node == "h100-node"
    assert outcome.placements["anywhere"][0].node == "a100-node"


# A node pool's CPU placement strategy decides where CPU-only pods go; GPU pods keep the GPU policy.
CPU_NODES = (
    Node("gpus-busy", gpus=2, cpu_milli=16000, memory_mib=65536),
    Node("cpus-busy", gpus=2, cpu_milli=16000, memory_mib=65536),
)
CPU_RUNNING = (
    Workload("on-gpus", "p", gpus=2, cpu_milli=1000, running=(RunningPod("gpus-busy", (0, 1)),)),
    Workload("on-cpus", "p", gpus=0, cpu_milli=12000, memory_mib=4096, running=(RunningPod("cpus-busy"),)),
)


def place_cpu_only(cpu_placement: str | None, placement: str = "binpack") -> dict[str, str]:
    pending = (
        Workload("cpu-only", "p", gpus=0, cpu_milli=2000, memory_mib=1024, submitted_at=1.0),
        Workload("one-gpu", "p", gpus=1, cpu_milli=1000, submitted_at=2.0),
    )
    snapshot = Snapshot(nodes=CPU_NODES, workloads=CPU_RUNNING + pending, placement=placement,
                        cpu_placement=cpu_placement)  # fmt: skip
    outcome = run_cycle(snapshot)
    return {name: pods[0].node for name, pods in outcome.placements.items()}


def test_cpu_binpacking_puts_a_cpu_only_pod_where_the_least_cpu_is_left():
    assert place_cpu_only("binpack") == {"cpu-only": "cpus-busy", "one-gpu": "cpus-busy"}


def test_cpu_spreading_puts_a_cpu_only_pod_where_the_most_cpu_is_left():
    assert place_cpu_only("spread") == {"cpu-only": "gpus-busy", "one-gpu": "cpus-busy"}
    # Spread for GPUs and binpack for CPUs: each pod by its own strategy.
    assert place_cpu_only("binpack", placement="spread") == {"cpu-only": "cpus-busy", "one-gpu": "cpus-busy"}


def test_without_a_cpu_strategy_a_cpu_only_pod_goes_by_the_gpu_policy():
    # Bin-packing by GPUs first: the node whose GPUs are all taken.
    assert place_cpu_only(None) == {"cpu-only": "gpus-busy", "one-gpu": "cpus-busy"}


def test_an_unknown_cpu_strategy_is_refused():
    with pytest.raises(ValueError, match="unknown CPU placement 'tight'"):
        place_cpu_only("tight")
