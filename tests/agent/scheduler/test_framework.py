"""The framework: statements undo exactly, fair share follows the queue tree, and one cycle is a
pure function of its snapshot."""

from __future__ import annotations

import gc
from dataclasses import replace

import pytest

from agent.scheduler import Node, PoolQuota, Queue, RunningPod, Snapshot, Workload, run_cycle
from agent.scheduler.bench_cases import build
from agent.scheduler.framework import Session
from agent.scheduler.framework.ordering import in_queue_order
from agent.scheduler.framework.solver import in_victim_order
from agent.scheduler.plugins import DEFAULT_PLUGINS


def queue(name: str, deserved: float = 0, parent: str | None = None, weight: float = 1, limit: float = -1) -> Queue:
    quota = PoolQuota(round(deserved * 1000), weight, -1 if limit < 0 else round(limit * 1000))
    return Queue(name=name, parent=parent, quotas={"default": quota})


def snapshot() -> Snapshot:
    return Snapshot(
        nodes=(Node("n1", gpus=4), Node("n2", gpus=4)),
        queues=(queue("dept", 8), queue("a", 4, "dept"), queue("b", 4, "dept")),
        workloads=(
            Workload("run-1", "b", running=(RunningPod("n1", (0,)),)),
            Workload("run-2", "b", gpus=2, running=(RunningPod("n2", (1, 2)),)),
            Workload("wait-1", "a", gpus=4),
            Workload("frac", "a", gpu_portion=0.5),
        ),
    )


def free(session: Session) -> dict[str, list[tuple[int, int]]]:
    return {name: [(d.free_milli, d.free_memory_mib) for d in node.devices] for name, node in session.nodes.items()}


def usage(session: Session) -> dict:
    return {key: value for key, value in session.allocated.items() if value}


def test_rollback_restores_capacity_usage_and_eviction_records_exactly() -> None:
    session = Session(snapshot(), DEFAULT_PLUGINS)
    before = (free(session), usage(session), dict(session.evicted))
    statement = session.statement()

    statement.evict(session.jobs["run-1"], "test")
    mark = statement.checkpoint()
    statement.evict(session.jobs["run-2"], "test")
    assert statement.place(session.jobs["wait-1"])
    assert statement.place(session.jobs["frac"])
    statement.rollback(mark)

    assert session.jobs["wait-1"].pods is None
    assert session.jobs["run-2"].pods is not None
    assert session.evicted == {"run-1": "test"}
    statement.discard()
    assert (free(session), usage(session), dict(session.evicted)) == before
    assert session.jobs["run-1"].pods == session.jobs["run-1"].original


def test_rollback_restores_cpu_and_memory_held_by_queues() -> None:
    base = snapshot()
    workloads = (
        Workload("cpu-run", "b", gpus=0, cpu_milli=3000, memory_mib=512, running=(RunningPod("n1", ()),)),
        Workload("cpu-wait", "a", gpus=0, cpu_milli=2000, memory_mib=256, pods=2),
    )
    session = Session(replace(base, workloads=workloads), DEFAULT_PLUGINS)
    before = {key: value for key, value in session.held.items() if value}
    statement = session.statement()

    statement.evict(session.jobs["cpu-run"], "test")
    assert statement.place(session.jobs["cpu-wait"])
    assert session.held["dept", "default", "cpu"] == 4000
    statement.discard()

    assert {key: value for key, value in session.held.items() if value} == before
    assert before == {("b", "default", "cpu"): 3000, ("b", "default", "memory"): 512} | {
        ("dept", "default", "cpu"): 3000,
        ("dept", "default", "memory"): 512,
    }


def test_commit_keeps_the_operations() -> None:
    session = Session(snapshot(), DEFAULT_PLUGINS)
    statement = session.statement()

    statement.evict(session.jobs["run-1"], "reclaimed")
    assert statement.place(session.jobs["wait-1"])
    statement.commit()
    statement.discard()

    assert session.jobs["wait-1"].pods is not None
    assert session.allocated["a", "default"] == 4000
    assert session.allocated["b", "default"] == 2000
    assert session.evicted == {"run-1": "reclaimed"}


def test_a_gang_that_does_not_fit_leaves_nothing_behind() -> None:
    base = snapshot()
    gang = Workload("gang", "a", pods=3, gpus=3)
    session = Session(Snapshot(nodes=base.nodes, queues=base.queues, workloads=(gang,)), DEFAULT_PLUGINS)
    before = free(session)

    assert not session.statement().place(session.jobs["gang"])
    assert free(session) == before
    assert usage(session) == {}


def test_fair_share_fills_departments_then_projects() -> None:
    snap = Snapshot(
        nodes=(Node("n1", gpus=8),),
        queues=(
            queue("d1", 2, weight=1),
            queue("d2", 0, weight=1),
            queue("p1", 2, "d1"),
            queue("p2", 0, "d1", weight=3),
            queue("p3", 0, "d2"),
        ),
        workloads=tuple(Workload(f"{p}-{i}", p) for p in ("p1", "p2", "p3") for i in range(8)),
    )

    shares = Session(snap, DEFAULT_PLUGINS).fair_share

    assert shares["d1", "default"] == pytest.approx(5000)
    assert shares["d2", "default"] == pytest.approx(3000)
    assert shares["p1", "default"] == pytest.approx(2750)
    assert shares["p2", "default"] == pytest.approx(2250)
    assert shares["p3", "default"] == pytest.approx(3000)


def test_a_cycle_is_deterministic_and_leaves_its_snapshot_alone() -> None:
    snap = snapshot()
    before = repr(snap)

    first = run_cycle(snap)

    assert all(run_cycle(snap) == first for _ in range(3))
    assert repr(snap) == before


def test_pods_alike_are_loaded_as_holding_what_each_holds() -> None:
    quarter = dict(gpu_portion=0.25, cpu_milli=500, memory_mib=1024)
    snap = Snapshot(
        nodes=(Node("n1", gpus=2, gpu_memory_mib=40_000, cpu_milli=8000, memory_mib=16_384),),
        workloads=(
            *(Workload(f"q{i}", "a", **quarter, running=(RunningPod("n1", (0,)),)) for i in range(3)),
            Workload("g", "b", pods=2, gpu_portion=0.25, running=(RunningPod("n1", (1,)), RunningPod("n1", (1,)))),
            *(Workload(f"c{i}", "a", gpus=0, cpu_milli=1000, running=(RunningPod("n1"),)) for i in range(2)),
        ),
    )

    session = Session(snap, DEFAULT_PLUGINS)

    assert free(session) == {"n1": [(250, 10_000), (500, 20_000)]}
    assert (session.nodes["n1"].cpu_free_milli, session.nodes["n1"].memory_free_mib) == (4500, 13_312)
    assert [job.held_milli for job in session.jobs.values()] == [250, 250, 250, 500, 0, 0]
    assert usage(session) == {("a", "default"): 750, ("b", "default"): 500}


def test_victims_sorted_field_by_field_come_in_victim_key_order() -> None:
    # Priorities and submission times repeat, so the later fields decide many places.
    workloads = tuple(
        Workload(
            f"w{i:02d}", "a", gpus=0, priority=(50, 75)[i % 2], submitted_at=float(i % 5), running=(RunningPod("n1"),)
        )
        for i in range(40)
    )
    snap = Snapshot(nodes=(Node("n1", gpus=0),), queues=(queue("a"),), workloads=workloads)
    session = Session(snap, DEFAULT_PLUGINS)
    jobs = list(session.jobs.values())
    assert session.victim_fields is not None

    by_fields = in_victim_order(session, jobs)

    assert by_fields == sorted(jobs, key=session.victim_key)
    assert by_fields != jobs
    session.victim_fields = None
    assert in_victim_order(session, reversed(jobs)) == by_fields


def test_a_cycle_leaves_nothing_for_the_cycle_collector() -> None:
    # A large cycle's state is freed by reference counting as the cycle ends; anything left in
    # a reference cycle would wait for a collector pass that walks all of it.
    snap = snapshot()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        run_cycle(snap)
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


def test_a_snapshot_that_oversubscribes_a_device_is_refused_clearly() -> None:
    snap = Snapshot(
        nodes=(Node("n1", gpus=1),),
        workloads=(
            Workload("x", "a", running=(RunningPod("n1", (0,)),)),
            Workload("y", "a", running=(RunningPod("n1", (0,)),)),
        ),
    )

    with pytest.raises(ValueError, match="workload y cannot run where the snapshot says"):
        run_cycle(snap)


@pytest.mark.parametrize(
    ("pod", "error"),
    [
        (RunningPod("n9", (0,)), "workload x runs on unknown node n9"),
        (RunningPod("n1", (1,)), "workload x cannot run where the snapshot says: .*unhealthy|cannot take"),
        (RunningPod("n1", (5,)), "workload x cannot run where the snapshot says: node n1 has no device 5"),
        (RunningPod("n1", (0, 0)), "workload x cannot run where the snapshot says: pod needs 1 distinct devices"),
    ],
)
def test_a_snapshot_whose_running_pod_breaks_a_rule_names_the_workload(pod: RunningPod, error: str) -> None:
    snap = Snapshot(
        nodes=(Node("n1", gpus=2, unhealthy=frozenset({1})),), workloads=(Workload("x", "a", running=(pod,)),)
    )

    with pytest.raises(ValueError, match=error):
        run_cycle(snap)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_job_served_heads_the_queue_furthest_below_its_share_at_that_moment(seed: int) -> None:
    session = Session(build("tiny", seed), DEFAULT_PLUGINS)
    waiting = session.pending_jobs()
    served = 0

    for job in in_queue_order(session, waiting):
        heads = {}
        for other in waiting:
            key = (other.project, other.pool)
            if key not in heads or session.job_key(other) < session.job_key(heads[key]):
                heads[key] = other
        least = min(
            heads.values(), key=lambda head: (session.queue_key(head.project, head.pool), session.job_key(head))
        )
        assert job is least
        waiting.remove(job)
        # Placing changes the shares the next pick reads.
        statement = session.statement()
        if statement.place(job):
            statement.commit()
            served += 1

    assert not waiting and served > 0
