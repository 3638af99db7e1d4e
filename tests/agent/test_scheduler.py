"""Scheduling as the agent asks for it: the older whole-GPU dialect (first fit, ordering, pending
reasons, determinism), then the mapping the reconciler uses onto the full scheduler (devices by
uuid, queues, fractions, gangs, evictions by workload id)."""

from __future__ import annotations

from agent.protocol import GpuDevice, Inventory, NodeInventory, PoolQuota, QueueSpec, ResourceQuota, WorkloadSpec
from agent.scheduler import (
    ClusterSnapshot,
    NodeSnapshot,
    PendingJob,
    Placement,
    RunningAllocation,
    schedule,
)
from agent.scheduler.adapter import Held, Pod, decide
from tests.agent.conftest import make_spec


def node(name: str, gpus: int, used: int = 0) -> NodeSnapshot:
    devices = tuple(f"{name}-gpu{i}" for i in range(gpus))
    return NodeSnapshot(name=name, devices=devices, used=frozenset(devices[:used]))


def job(job_id: str, gpus: int, priority: int = 50, submitted_at: float = 0.0) -> PendingJob:
    return PendingJob(id=job_id, gpu_devices=gpus, priority=priority, submitted_at=submitted_at)


def test_a_job_goes_to_the_first_node_with_enough_free_devices() -> None:
    snapshot = ClusterSnapshot(nodes=(node("a", 4, used=3), node("b", 4)), pending=(job("j", 2),))

    decisions = schedule(snapshot)

    assert decisions.placements == {"j": Placement(node="b", devices=("b-gpu0", "b-gpu1"))}
    assert decisions.pending_reasons == {}


def test_a_job_takes_the_lowest_free_devices_of_its_node() -> None:
    snapshot = ClusterSnapshot(
        nodes=(NodeSnapshot("a", ("g0", "g1", "g2", "g3"), used=frozenset({"g0", "g2"})),),
        pending=(job("j", 2),),
    )

    assert schedule(snapshot).placements["j"] == Placement("a", ("g1", "g3"))


def test_devices_of_running_allocations_are_not_given_again() -> None:
    snapshot = ClusterSnapshot(
        nodes=(node("a", 2),),
        pending=(job("j", 1),),
        running=(RunningAllocation(job_id="r", node="a", devices=("a-gpu0",)),),
    )

    assert schedule(snapshot).placements["j"] == Placement("a", ("a-gpu1",))


def test_a_zero_gpu_job_always_fits_on_the_first_node() -> None:
    snapshot = ClusterSnapshot(nodes=(node("a", 1, used=1), node("b", 4)), pending=(job("cpu", 0),))

    assert schedule(snapshot).placements == {"cpu": Placement(node="a", devices=())}


def test_higher_priority_is_placed_first_then_earlier_submission_then_id() -> None:
    snapshot = ClusterSnapshot(
        nodes=(node("a", 1),),
        pending=(
            job("late", 1, priority=100, submitted_at=20),
            job("low", 1, priority=50, submitted_at=0),
            job("early", 1, priority=100, submitted_at=10),
        ),
    )

    decisions = schedule(snapshot)

    assert list(decisions.placements) == ["early"]
    assert set(decisions.pending_reasons) == {"late", "low"}


def test_equal_priority_and_time_are_ordered_by_id() -> None:
    snapshot = ClusterSnapshot(nodes=(node("a", 1),), pending=(job("b", 1), job("a", 1)))

    assert list(schedule(snapshot).placements) == ["a"]


def test_a_job_that_does_not_fit_does_not_block_smaller_ones_after_it() -> None:
    snapshot = ClusterSnapshot(nodes=(node("a", 4, used=2),), pending=(job("big", 3, priority=100), job("small", 1)))

    decisions = schedule(snapshot)

    assert set(decisions.placements) == {"small"}
    assert decisions.pending_reasons == {"big": "waiting for 3 GPUs: 1 of 4 free on node a"}


def test_pending_reason_says_how_many_are_free_on_the_node() -> None:
    snapshot = ClusterSnapshot(nodes=(node("host-a", 4, used=3),), pending=(job("j", 2),))

    assert schedule(snapshot).pending_reasons == {"j": "waiting for 2 GPUs: 1 of 4 free on node host-a"}


def test_pending_reason_lists_every_node_when_there_are_several() -> None:
    snapshot = ClusterSnapshot(nodes=(node("a", 2, used=2), node("b", 4, used=3)), pending=(job("j", 1 + 1),))

    assert schedule(snapshot).pending_reasons["j"] == (
        "waiting for 2 GPUs: 0 of 2 free on node a, 1 of 4 free on node b"
    )


def test_pending_reason_for_a_single_gpu_is_singular() -> None:
    snapshot = ClusterSnapshot(nodes=(node("a", 1, used=1),), pending=(job("j", 1),))

    assert schedule(snapshot).pending_reasons["j"] == "waiting for 1 GPU: 0 of 1 free on node a"


def test_a_job_larger_than_every_node_says_so() -> None:
    snapshot = ClusterSnapshot(nodes=(node("a", 4), node("b", 2)), pending=(job("huge", 8),))

    assert schedule(snapshot).pending_reasons == {"huge": "requests 8 GPUs but the largest node has 4"}


def test_without_nodes_every_job_waits_with_a_reason() -> None:
    decisions = schedule(ClusterSnapshot(nodes=(), pending=(job("j", 0),)))

    assert decisions.placements == {}
    assert decisions.pending_reasons == {"j": "no nodes in the cluster"}


def test_placements_made_earlier_in_the_cycle_count_against_later_jobs() -> None:
    snapshot = ClusterSnapshot(
        nodes=(node("a", 2), node("b", 2)),
        pending=(job("one", 2, submitted_at=1), job("two", 2, submitted_at=2), job("three", 1)),
    )

    decisions = schedule(snapshot)

    assert decisions.placements == {
        "three": Placement("a", ("a-gpu0",)),
        "one": Placement("b", ("b-gpu0", "b-gpu1")),
    }
    assert decisions.pending_reasons == {"two": "waiting for 2 GPUs: 1 of 2 free on node a, 0 of 2 free on node b"}


def test_the_same_snapshot_always_gives_the_same_decisions() -> None:
    jobs = tuple(job(f"j{i}", i % 3, priority=(i * 7) % 4, submitted_at=i % 5) for i in range(20))
    snapshot = ClusterSnapshot(nodes=(node("a", 4, used=1), node("b", 8)), pending=jobs)
    shuffled = ClusterSnapshot(nodes=snapshot.nodes, pending=tuple(reversed(jobs)))

    first = schedule(snapshot)

    assert all(schedule(snapshot) == first for _ in range(5))
    assert schedule(shuffled) == first


def test_the_snapshot_is_left_unchanged() -> None:
    snapshot = ClusterSnapshot(nodes=(node("a", 2),), pending=(job("j", 1),))
    before = repr(snapshot)

    schedule(snapshot)

    assert repr(snapshot) == before


# --- the agent's mapping onto the full scheduler (agent.scheduler.adapter.decide) ---------------


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
