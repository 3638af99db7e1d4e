"""Node pools in the agent: each node is in the pool the control plane names it in, a workload is
placed only in its node pools (tried in its order of preference), and a pool's placement strategy
decides how its devices fill.

The adapter is driven directly with multi-node inventories; the reconciler runs real local
processes over one, since an agent process manages a single node. Devices are simulated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.cli import build_parser, node_labels
from agent.protocol import (
    DesiredStateMessage,
    GpuDevice,
    Inventory,
    NodeInventory,
    NodePoolSpec,
    WorkloadPhase,
)
from agent.reconciler import Reconciler
from agent.runtime.local.runtime import LocalRuntime
from agent.scheduler.adapter import Held, Pod, decide
from tests.agent.conftest import make_spec
from tests.polling import wait_until


def inventory(**gpus_by_node: int) -> Inventory:
    return Inventory(
        nodes=[
            NodeInventory(
                name=node,
                simulated=True,
                gpus=[
                    GpuDevice(index=i, uuid=f"{node}-GPU-{i}", model="Simulated", memory_mib=81920, simulated=True)
                    for i in range(count)
                ],
            )
            for node, count in gpus_by_node.items()
        ]
    )


def pools(placement: str = "binpack", **nodes_by_pool: list[str]) -> list[NodePoolSpec]:
    return [NodePoolSpec(name=name, nodes=nodes, gpu_placement=placement) for name, nodes in nodes_by_pool.items()]


EARLIER = datetime(2024, 1, 1, tzinfo=UTC)
CLUSTER = inventory(**{"node-a": 2, "node-b": 2, "node-c": 2})
POOLS = pools(a=["node-a"], b=["node-b"], default=["node-c"])


def test_a_workload_asking_for_a_pool_is_placed_only_on_that_pools_nodes() -> None:
    wants_a = [make_spec(f"a{i}", gpu_devices=1, node_pools=["a"]) for i in range(3)]

    decisions = decide(CLUSTER, [], wants_a, [], now=0.0, node_pools=POOLS)

    assert {pods[0].node for pods in decisions.placements.values()} == {"node-a"}
    assert len(decisions.placements) == 2, "pool a has two devices"
    (waiting,) = decisions.pending
    assert "a" in waiting


def test_a_workload_without_pools_goes_to_the_default_pool() -> None:
    decisions = decide(CLUSTER, [], [make_spec("w", gpu_devices=2)], [], now=0.0, node_pools=POOLS)

    assert decisions.placements["w"][0].node == "node-c"


def test_a_workload_tries_its_pools_in_order_of_preference() -> None:
    busy = Held(make_spec("busy", gpu_devices=2, node_pools=["a"]), (Pod("node-a", ("node-a-GPU-0", "node-a-GPU-1")),))
    wanted = make_spec("w", gpu_devices=1, node_pools=["a", "b"])

    decisions = decide(CLUSTER, [], [wanted], [busy], now=0.0, node_pools=POOLS)

    assert decisions.placements["w"][0].node == "node-b", "pool a is full, so its next pool, b"


def test_a_workload_that_fits_none_of_its_pools_says_why_for_each() -> None:
    wanted = make_spec("big", gpu_devices=3, node_pools=["a", "b"])

    decisions = decide(CLUSTER, [], [wanted], [], now=0.0, node_pools=POOLS)

    assert decisions.placements == {}
    reason = decisions.pending["big"]
    assert reason.startswith("node pool a: ") and "; node pool b: " in reason


def test_a_pool_that_the_agent_has_no_nodes_in_leaves_its_workloads_waiting() -> None:
    decisions = decide(CLUSTER, [], [make_spec("w", gpu_devices=1, node_pools=["gone"])], [], now=0.0, node_pools=POOLS)

    assert decisions.placements == {}
    assert "no nodes in node pool gone" in decisions.pending["w"]


def test_a_spread_pool_places_fractions_on_separate_devices_and_a_binpack_one_packs_them() -> None:
    halves = [make_spec(f"h{i}", gpu_devices=1, gpu_portion=0.25, node_pools=["a"]) for i in range(2)]
    cluster = inventory(**{"node-a": 2})

    def devices_used(placement: str) -> set[str]:
        decisions = decide(cluster, [], halves, [], now=0.0, node_pools=pools(placement, a=["node-a"]))
        return {uuid for pods in decisions.placements.values() for pod in pods for uuid in pod.devices}

    assert len(devices_used("binpack")) == 1
    assert len(devices_used("spread")) == 2


def test_each_pool_places_by_its_own_strategy_in_the_same_cycle() -> None:
    quarters = [
        make_spec(f"{pool}{i}", gpu_devices=1, gpu_portion=0.25, node_pools=[pool]) for pool in "ab" for i in range(2)
    ]
    spread_a = [
        NodePoolSpec(name="a", nodes=["node-a"], gpu_placement="spread"),
        NodePoolSpec(name="b", nodes=["node-b"], gpu_placement="binpack"),
    ]

    decisions = decide(inventory(**{"node-a": 2, "node-b": 2}), [], quarters, [], now=0.0, node_pools=spread_a)

    def devices_of(pool: str) -> set[str]:
        return {uuid for name, pods in decisions.placements.items() if name[0] == pool for uuid in pods[0].devices}

    assert len(decisions.placements) == 4
    assert devices_of("a") == {"node-a-GPU-0", "node-a-GPU-1"}, "pool a spreads"
    assert len(devices_of("b")) == 1, "pool b packs"


def test_held_work_counts_in_the_pool_of_its_node() -> None:
    # Work running on pool b's node leaves pool b one device, whatever pool its spec names first.
    running = Held(make_spec("r", gpu_devices=1, node_pools=["a", "b"]), (Pod("node-b", ("node-b-GPU-0",)),))
    wanted = make_spec("w", gpu_devices=2, node_pools=["b"])

    decisions = decide(CLUSTER, [], [wanted], [running], now=0.0, node_pools=POOLS)

    assert "w" in decisions.pending and decisions.placements == {}


def test_the_reconciler_runs_a_workload_only_on_its_pools_node(state_dir: Path) -> None:
    reconciler = Reconciler(LocalRuntime(state_dir), inventory(**{"node-a": 1, "node-b": 1}), stop_grace_seconds=1.0)
    reconciler.apply(DesiredStateMessage(full=True, node_pools=pools(a=["node-a"], b=["node-b"])))
    reconciler.apply(
        DesiredStateMessage(
            full=False,
            workloads=[
                make_spec("in-b", command="sleep 30", gpu_devices=1, node_pools=["b"], submitted_at=EARLIER),
                make_spec("also-b", command="sleep 30", gpu_devices=1, node_pools=["b"]),
                make_spec("in-a", command="sleep 30", gpu_devices=1, node_pools=["a"]),
            ],
        )
    )

    statuses = wait_until(
        lambda: (s := reconciler.tick()) and s["in-a"].phase == s["in-b"].phase == WorkloadPhase.RUNNING and s,
        what="the workloads of pools a and b to run",
    )

    assert (statuses["in-a"].node, statuses["in-a"].gpus) == ("node-a", ["node-a-GPU-0"])
    assert (statuses["in-b"].node, statuses["in-b"].gpus) == ("node-b", ["node-b-GPU-0"])
    assert statuses["also-b"].phase == WorkloadPhase.PENDING, "pool a's free device is not pool b's"

    # The pools change: node-a joins pool b, and the waiting workload runs there.
    reconciler.apply(DesiredStateMessage(full=False, node_pools=pools(b=["node-a", "node-b"])))
    reconciler.apply(DesiredStateMessage(full=False, removed=["in-a"]))
    statuses = wait_until(
        lambda: (s := reconciler.tick()) and s.get("also-b") and s["also-b"].phase == WorkloadPhase.RUNNING and s,
        what="the second workload of pool b to run on node-a",
    )
    assert statuses["also-b"].node == "node-a"


def test_the_node_labels_given_on_the_command_line_are_key_value_pairs() -> None:
    parser = build_parser()

    assert node_labels(parser, ["rack=r1", "gpu = a100", "empty="]) == {"rack": "r1", "gpu": "a100", "empty": ""}
    with pytest.raises(SystemExit):
        node_labels(parser, ["rack"])
    with pytest.raises(SystemExit):
        node_labels(parser, ["=r1"])
