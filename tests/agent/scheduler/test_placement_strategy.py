"""The scheduler places with the snapshot's policy exactly as the trace replay builds it."""

from __future__ import annotations

from agent.scheduler import Node, Snapshot, Workload, run_cycle

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
