"""Scheduling as the agent asks for it: the reconciler's mapping onto the full scheduler (devices
by uuid, queues, fractions, gangs, evictions by workload id), the order work is served in, the
reasons it waits and the determinism of it all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.protocol import GpuDevice, Inventory, NodeInventory, PoolQuota, QueueSpec, ResourceQuota, WorkloadSpec
from agent.scheduler.adapter import Held, Pod, decide
from tests.agent.conftest import make_spec

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def nodes(**sizes: int) -> Inventory:
    """Nodes by name with so many devices each, named ``<node>-gpu<i>``."""
    return Inventory(
        nodes=[
            NodeInventory(
                name=name,
                gpus=[GpuDevice(index=i, uuid=f"{name}-gpu{i}", model="A100", memory_mib=40960) for i in range(count)],
            )
            for name, count in sizes.items()
        ]
    )


def holding(node: str, *indexes: int) -> Held:
    """Work of another project already running on ``node``'s devices ``indexes``, not preemptible."""
    name = f"held-{node}-{'-'.join(map(str, indexes))}"
    spec = workload(name, project="serving", gpu_devices=len(indexes), priority_class="inference")
    return Held(spec, (Pod(node, tuple(f"{node}-gpu{i}" for i in indexes)),))


def queues() -> list[QueueSpec]:
    """Enough quota that order, not quota, decides who runs."""
    return [department(gpus=16), project("vision", gpus=8), project("serving", gpus=8)]


def test_higher_priority_is_placed_first_then_earlier_submission() -> None:
    pending = [
        workload("late", priority=100, submitted_at=T0 + timedelta(seconds=20)),
        workload("low", priority=50),
        workload("early", priority=100, submitted_at=T0 + timedelta(seconds=10)),
    ]

    decisions = decide(nodes(a=1), queues(), pending, [], now=0)

    assert list(decisions.placements) == ["early"]
    assert set(decisions.pending) == {"late", "low"}


def test_a_job_that_does_not_fit_does_not_block_smaller_ones_after_it() -> None:
    pending = [workload("big", gpu_devices=3, priority=100), workload("small")]

    decisions = decide(nodes(a=4), queues(), pending, [holding("a", 0, 1)], now=0)

    assert decisions.placements == {"small": (Pod("a", ("a-gpu2",)),)}
    assert decisions.pending["big"].startswith("waiting for 3 GPUs: 1 of 4 free on node a")


def test_pending_reasons_say_how_many_are_free_on_each_node() -> None:
    held = [holding("a", 0, 1), holding("b", 0, 1, 2)]

    decisions = decide(nodes(a=2, b=4), queues(), [workload("j", gpu_devices=2)], held, now=0)

    assert decisions.pending["j"].startswith("waiting for 2 GPUs: 0 of 2 free on node a, 1 of 4 free on node b")


def test_a_single_gpu_is_singular_in_a_pending_reason() -> None:
    decisions = decide(nodes(a=1), queues(), [workload("j")], [holding("a", 0)], now=0)

    assert decisions.pending["j"].startswith("waiting for 1 GPU: 0 of 1 free on node a")


def test_a_job_larger_than_every_node_says_so() -> None:
    decisions = decide(nodes(a=4, b=2), queues(), [workload("huge", gpu_devices=8)], [], now=0)

    assert decisions.pending == {"huge": "requests 8 GPUs but the largest node has 4"}


def test_without_nodes_every_job_waits_with_a_reason() -> None:
    decisions = decide(Inventory(nodes=[]), queues(), [workload("j", gpu_devices=0)], [], now=0)

    assert decisions.placements == {}
    assert decisions.pending == {"j": "no nodes in node pool default"}


def test_placements_made_earlier_in_the_cycle_count_against_later_jobs() -> None:
    pending = [
        workload("one", gpu_devices=2, submitted_at=T0 + timedelta(seconds=1)),
        workload("two", gpu_devices=2, submitted_at=T0 + timedelta(seconds=2)),
        workload("three"),
    ]

    decisions = decide(nodes(a=2, b=2), queues(), pending, [], now=0)

    assert decisions.placements == {"three": (Pod("a", ("a-gpu0",)),), "one": (Pod("b", ("b-gpu0", "b-gpu1")),)}
    assert decisions.pending["two"].startswith("waiting for 2 GPUs: 1 of 2 free on node a, 0 of 2 free on node b")


def test_the_same_view_always_gives_the_same_decisions_whatever_the_order_it_lists_work_in() -> None:
    pending = [
        workload(f"j{i}", gpu_devices=i % 3, priority=(50, 100)[i % 2], submitted_at=T0 + timedelta(seconds=i % 5))
        for i in range(20)
    ]
    held = [holding("a", 0)]

    first = decide(nodes(a=4, b=8), queues(), pending, held, now=0)

    assert all(decide(nodes(a=4, b=8), queues(), pending, held, now=0) == first for _ in range(5))
    assert decide(nodes(a=4, b=8), queues(), pending[::-1], held, now=0) == first


def inventory(*gpus: GpuDevice, cordoned: bool | None = None) -> Inventory:
    return Inventory(nodes=[NodeInventory(name="n", gpus=list(gpus), cordoned=cordoned)])


def device(index: int, memory_mib: int = 40960, **flags: bool) -> GpuDevice:
    return GpuDevice(index=index, uuid=f"GPU-{index}", model="A100", memory_mib=memory_mib, **flags)


def project(name: str, department: str = "d", gpus: float = 0, limit: float = -1) -> QueueSpec:
    quota = PoolQuota(node_pool="default", gpu=ResourceQuota(deserved=gpus, limit=limit))
    return QueueSpec(id=f"p-{name}", name=name, kind="project", parent=department, pools=[quota])


def department(name: str = "research", gpus: float = 0) -> QueueSpec:
    quota = PoolQuota(node_pool="default", gpu=ResourceQuota(deserved=gpus))
    return QueueSpec(id="d", name=name, kind="department", pools=[quota])


def workload(workload_id: str, **fields: object) -> WorkloadSpec:
    values: dict[str, object] = {"name": workload_id, "project": "vision", "gpu_devices": 1}
    values.update(fields)
    return make_spec(workload_id, **values)


def test_devices_are_named_by_uuid_and_running_work_keeps_its_own() -> None:
    running = Held(workload("r"), (Pod("n", ("GPU-0",)),))

    decisions = decide(inventory(device(0), device(1)), [], [workload("j")], [running], now=0)

    assert decisions.placements == {"j": (Pod("n", ("GPU-1",)),)}


def test_a_cordoned_or_unhealthy_device_gets_nothing() -> None:
    devices = (device(0, cordoned=True), device(1, healthy=False), device(2))

    assert decide(inventory(*devices), [], [workload("j")], [], now=0).placements == {"j": (Pod("n", ("GPU-2",)),)}
    assert decide(inventory(device(0), cordoned=True), [], [workload("j")], [], now=0).placements == {}


def test_fractions_share_a_device_by_portion_or_by_memory_without_oversubscribing_it() -> None:
    pending = [
        workload("half", gpu_portion=0.5),
        workload("quarter", gpu_memory_mib=10240),  # a quarter of a 40 GiB device
        workload("too-much", gpu_portion=0.5),
    ]

    decisions = decide(inventory(device(0)), [], pending, [], now=0)

    assert decisions.placements == {"half": (Pod("n", ("GPU-0",)),), "quarter": (Pod("n", ("GPU-0",)),)}
    assert set(decisions.pending) == {"too-much"}


def test_a_gang_gets_one_pod_per_worker_or_nothing() -> None:
    gang = workload("gang", workers=2, workload_type="distributed")

    placed = decide(inventory(device(0), device(1)), [], [gang], [], now=0)
    waiting = decide(inventory(device(0)), [], [gang], [], now=0)

    assert placed.placements == {"gang": (Pod("n", ("GPU-0",)), Pod("n", ("GPU-1",)))}
    assert waiting.placements == {} and set(waiting.pending) == {"gang"}


def test_queues_come_from_the_control_plane_with_their_limits() -> None:
    queues = [department(), project("vision", limit=1)]

    decisions = decide(inventory(device(0), device(1)), queues, [workload("a"), workload("b")], [], now=0)

    assert list(decisions.placements) == ["a"]
    assert decisions.pending["b"].startswith("project vision is at its GPU limit")


def test_a_running_preemptible_job_of_an_over_quota_project_is_evicted_by_id_for_an_under_quota_one() -> None:
    queues = [department(gpus=2), project("vision", gpus=1), project("speech", gpus=1)]
    held = [Held(workload(w), (Pod("n", (f"GPU-{i}",)),)) for i, w in enumerate(("v1", "v2"))]

    decisions = decide(inventory(device(0), device(1)), queues, [workload("s1", project="speech")], held, now=0)

    assert decisions.evictions == {"v2": "reclaimed by project speech for s1"}
    assert decisions.placements == {"s1": (Pod("n", ("GPU-1",)),)}


def test_a_department_named_as_a_project_and_workloads_named_alike_are_told_apart() -> None:
    limited = QueueSpec(
        id="d", name="vision", kind="department", pools=[PoolQuota(node_pool="default", gpu=ResourceQuota(limit=1))]
    )
    pending = [workload("1", name="train"), workload("2", name="train")]

    decisions = decide(inventory(device(0), device(1)), [limited, project("vision")], pending, [], now=0)

    assert list(decisions.placements) == ["1"]
    assert decisions.pending["2"].startswith("department vision (department) is at its GPU limit")


def test_work_running_on_a_device_cordoned_since_is_left_alone_and_nothing_joins_it() -> None:
    running = Held(workload("r", gpu_portion=0.5), (Pod("n", ("GPU-0",)),))
    devices = inventory(device(0, cordoned=True), device(1))

    decisions = decide(devices, [], [workload("j", gpu_portion=0.5)], [running], now=0)

    assert decisions.placements == {"j": (Pod("n", ("GPU-1",)),)}
    assert decisions.evictions == {}


def test_more_running_work_than_a_device_holds_does_not_stop_the_cycle() -> None:
    # As a restart may find: three halves on one device. Two are counted, none is evicted.
    running = [Held(workload(f"r{i}", gpu_portion=0.5), (Pod("n", ("GPU-0",)),)) for i in range(3)]

    decisions = decide(inventory(device(0)), [], [workload("j", gpu_portion=0.5)], running, now=0)

    assert decisions.placements == {} and decisions.evictions == {}
    assert decisions.pending["j"].startswith("waiting for 0.5 of a GPU")


def test_several_devices_at_one_portion_share_each_of_them() -> None:
    pending = [workload(w, gpu_devices=2, gpu_portion=0.5, gpu_portion_limit=1.0) for w in ("a", "b", "c")]

    decisions = decide(inventory(device(0), device(1)), [], pending, [], now=0)

    # Placed by their requests (a limit above is only burst room), never past a device's whole.
    assert decisions.placements == {w: (Pod("n", ("GPU-0", "GPU-1")),) for w in ("a", "b")}
    assert set(decisions.pending) == {"c"}
