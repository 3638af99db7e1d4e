"""CPU and memory in the agent: each node's reported CPU and memory bound what workloads'
requests may take there, a node pool's CPU placement strategy places CPU-only work, and work
found holding more than its node has is left where it runs, out of the cycle."""

from __future__ import annotations

from agent.protocol import Inventory, NodeInventory, NodePoolSpec
from agent.scheduler.adapter import Held, Pod, decide
from tests.agent.conftest import make_spec

GIB = 1024


def cluster(**cpus_by_node: int) -> Inventory:
    nodes = [NodeInventory(name=n, cpu_milli=cpus * 1000, memory_mib=64 * GIB) for n, cpus in cpus_by_node.items()]
    return Inventory(nodes=nodes)


def cpu_only(workload_id: str, cores: float, memory_gib: int = 1):
    return make_spec(workload_id, cpu_milli=round(cores * 1000), memory_mib=memory_gib * GIB)


def test_cpu_requests_are_placed_within_each_nodes_cpu():
    wanted = [cpu_only(f"w{i}", 3) for i in range(3)]

    decisions = decide(cluster(**{"node-a": 4, "node-b": 4}), [], wanted, [], now=0.0)

    assert sorted(pods[0].node for pods in decisions.placements.values()) == ["node-a", "node-b"]
    (waiting,) = decisions.pending
    assert "CPU" in decisions.pending[waiting], decisions.pending


def test_memory_requests_are_placed_within_each_nodes_memory():
    decisions = decide(cluster(**{"node-a": 64}), [], [cpu_only("big", 1, memory_gib=65)], [], now=0.0)

    assert decisions.placements == {}
    assert "memory" in decisions.pending["big"], decisions.pending


def test_a_pools_cpu_strategy_places_cpu_only_work():
    busy = Held(cpu_only("busy", 6), (Pod("node-a"),))
    pools = [NodePoolSpec(name="default", nodes=["node-a", "node-b"], gpu_placement="binpack", cpu_placement=strategy)
             for strategy in ("binpack", "spread")]  # fmt: skip

    packed = decide(cluster(**{"node-a": 8, "node-b": 8}), [], [cpu_only("w", 1)], [busy], 0.0, [pools[0]])
    spread = decide(cluster(**{"node-a": 8, "node-b": 8}), [], [cpu_only("w", 1)], [busy], 0.0, [pools[1]])

    assert packed.placements["w"][0].node == "node-a"
    assert spread.placements["w"][0].node == "node-b"


def test_work_holding_more_cpu_than_its_node_reports_is_left_out_of_the_cycle():
    # Two workloads found running on a node that now reports 4 cores: the first fits, the second
    # is left where it runs (the cycle would refuse it) and what it holds is not offered to others.
    held = [Held(cpu_only("first", 3), (Pod("node-a"),)), Held(cpu_only("second", 3), (Pod("node-a"),))]

    decisions = decide(cluster(**{"node-a": 4}), [], [cpu_only("small", 1)], held, now=0.0)

    assert decisions.evictions == {}
    assert decisions.placements["small"][0].node == "node-a"


def test_a_node_that_reports_no_cpu_takes_any_cpu_request():
    bare = Inventory(nodes=[NodeInventory(name="node-a")])

    decisions = decide(bare, [], [cpu_only("w", 500)], [], now=0.0)

    assert decisions.placements["w"][0].node == "node-a"


def test_a_waiting_reason_names_only_what_the_workload_asks_for():
    decisions = decide(cluster(**{"node-a": 2}), [], [make_spec("w", cpu_milli=3000)], [], now=0.0)

    assert decisions.pending["w"] == "waiting for 3000 CPU millicores: no node has that much free"
