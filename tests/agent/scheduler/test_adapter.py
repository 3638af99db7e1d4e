"""The agent's whole-GPU dialect over the full scheduler: odd runtime reports do not break it."""

from __future__ import annotations

from agent.scheduler import ClusterSnapshot, NodeSnapshot, PendingJob, Placement, RunningAllocation, schedule
from agent.scheduler.adapter import to_snapshot


def test_a_device_reported_twice_or_unknown_is_held_once_and_nothing_breaks() -> None:
    snapshot = ClusterSnapshot(
        nodes=(NodeSnapshot("a", ("g0", "g1", "g2"), used=frozenset({"g0"})),),
        pending=(PendingJob("j", gpu_devices=1),),
        running=(
            RunningAllocation(job_id="stopping", node="a", devices=("g0", "g1")),
            RunningAllocation(job_id="restarted", node="a", devices=("g1",)),
            RunningAllocation(job_id="elsewhere", node="gone", devices=("x",)),
        ),
    )

    assert schedule(snapshot).placements == {"j": Placement("a", ("g2",))}


def test_running_work_is_never_evicted_for_a_higher_priority_job() -> None:
    snapshot = ClusterSnapshot(
        nodes=(NodeSnapshot("a", ("g0",)),),
        pending=(PendingJob("urgent", gpu_devices=1, priority=125),),
        running=(RunningAllocation(job_id="low", node="a", devices=("g0",)),),
    )

    decisions = schedule(snapshot)

    assert decisions.placements == {}
    assert decisions.pending_reasons == {"urgent": "waiting for 1 GPU: 0 of 1 free on node a"}
    assert all(not w.is_preemptible for w in to_snapshot(snapshot).workloads if w.running)
