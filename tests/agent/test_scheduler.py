"""The scheduling core: first fit over whole GPUs, ordering, pending reasons, determinism."""

from __future__ import annotations

from agent.scheduler import (
    ClusterSnapshot,
    NodeSnapshot,
    PendingJob,
    Placement,
    RunningAllocation,
    schedule,
)


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
