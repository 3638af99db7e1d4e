"""The node pool a workload is placed in decides how its GPU fraction shares compute on an MPS
node: in a strict pool it gets ``CUDA_MPS_ACTIVE_THREAD_PERCENTAGE`` from its portion, in a fair
pool the variable is unset (time-sliced). A pool that does not say (a control plane older than
the setting) leaves the agent's own default, its ``--mps-compute-mode``.

The reconciler places and starts real local processes, which print the environment they were
given. MPS itself cannot run here: the runtime is configured as on an MPS node, and the
inventory's nodes say they run it.
"""

from __future__ import annotations

from pathlib import Path

from agent.gpu.enforcement import ComputeMode, FractionConfig
from agent.protocol import DesiredStateMessage, GpuDevice, Inventory, NodeInventory, NodePoolSpec, WorkloadPhase
from agent.reconciler import Reconciler
from agent.runtime.local.runtime import LocalRuntime
from tests.agent.conftest import make_spec
from tests.polling import wait_until

SHOW = 'echo "threads=${CUDA_MPS_ACTIVE_THREAD_PERCENTAGE-unset} memory=$CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"'


def mps_nodes(*names: str) -> Inventory:
    return Inventory(
        nodes=[
            NodeInventory(
                name=name,
                simulated=True,
                mps=True,
                gpus=[GpuDevice(index=0, uuid=f"{name}-GPU-0", model="Simulated", memory_mib=80000, simulated=True)],
            )
            for name in names
        ]
    )


def environments(
    state_dir: Path, agent_default: ComputeMode, pools: list[NodePoolSpec], placed: dict[str, list[str]]
) -> dict[str, str]:
    """Run one quarter-GPU workload per entry of ``placed`` (its id: the pools it may run in) on
    an MPS node whose agent defaults to ``agent_default``; what each printed."""
    runtime = LocalRuntime(
        state_dir, fractions=FractionConfig(mps=True, compute_mode=agent_default, mps_pipe_directory="/run/mps")
    )
    nodes = sorted({node for pool in pools for node in pool.nodes} | {"unpooled"})
    reconciler = Reconciler(runtime, mps_nodes(*nodes), stop_grace_seconds=1.0)
    workloads = [
        make_spec(name, command=SHOW, gpu_devices=1, gpu_portion=0.25, node_pools=choices)
        for name, choices in placed.items()
    ]
    reconciler.apply(DesiredStateMessage(full=True, workloads=workloads, node_pools=pools))

    statuses = wait_until(
        lambda: (s := reconciler.tick()) and all(s[n].phase == WorkloadPhase.COMPLETED for n in placed) and s,
        what="every workload to run to its end",
    )
    return {name: (runtime.workload_dir(name) / "stdout.log").read_text().strip() for name in statuses}


def test_a_strict_pool_caps_a_fractions_compute_at_its_portion_and_a_fair_pool_time_slices_it(state_dir: Path):
    pools = [
        NodePoolSpec(name="strict", nodes=["node-s"], gpu_compute_mode="strict"),
        NodePoolSpec(name="fair", nodes=["node-f"], gpu_compute_mode="fair"),
    ]

    seen = environments(state_dir, "fair", pools, {"in-strict": ["strict"], "in-fair": ["fair"]})

    assert seen == {"in-strict": "threads=25 memory=0=20000M", "in-fair": "threads=unset memory=0=20000M"}


def test_a_fair_pool_time_slices_even_where_the_agent_defaults_to_strict(state_dir: Path):
    pools = [NodePoolSpec(name="default", nodes=["node-f"], gpu_compute_mode="fair")]

    seen = environments(state_dir, "strict", pools, {"w": ["default"]})

    assert seen == {"w": "threads=unset memory=0=20000M"}


def test_a_pool_that_does_not_say_leaves_the_agents_own_compute_mode(state_dir: Path):
    # As a control plane older than the setting sends them: no compute mode. Node "unpooled" is
    # named by no pool, so it is in the default pool, which says nothing either.
    pools = [NodePoolSpec(name="old", nodes=["node-o"]), NodePoolSpec(name="default", nodes=[])]

    seen = environments(state_dir, "strict", pools, {"in-old": ["old"], "in-default": ["default"]})

    assert seen == {"in-old": "threads=25 memory=0=20000M", "in-default": "threads=25 memory=0=20000M"}
