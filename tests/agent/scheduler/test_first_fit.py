"""The first-fit index over victims, and judging victims before stopping them, are shortcuts,
not rules: every cycle decides exactly what the plain evict-then-place scan decides, for
preemption and for reclaim (whose fair-share rule changes as victims go), and the shortcuts are
really taken."""

import sys
from dataclasses import replace

import pytest

from agent.scheduler import Node, PoolQuota, Queue, RunningPod, Snapshot, Workload
from agent.scheduler.bench_cases import CASES, build
from agent.scheduler.cycle import run_cycle
from agent.scheduler.framework import Session, solver
from agent.scheduler.framework.first_fit import FirstFit
from agent.scheduler.placement import PodRequest
from agent.scheduler.plugins import DEFAULT_PLUGINS

# A small cluster full of fractional work, projects far over and under quota: many jobs
# preempt and reclaim, most of them lone pods that fit nowhere until victims go.
CROWDED = replace(CASES["cluster-4k-skewed"], nodes=40, running=1_300, pending=300)


def through_index_and_scan(monkeypatch, snapshot):
    """The cycle's outcome through the index and through the scan alone, and what each use of
    the index decided, by kind ("preempted", "reclaimed", or "gang" for a job of several pods)."""
    shortcut = solver._evict_on_first_fit
    decided: list[tuple[str, bool | None]] = []

    def watched(session, job, first_fit, reason, *rest):
        kind = reason.split()[0] if job.workload.pods == 1 else "gang"
        decided.append((kind, shortcut(session, job, first_fit, reason, *rest)))
        return decided[-1][1]

    monkeypatch.setattr(solver, "_evict_on_first_fit", watched)
    indexed = run_cycle(snapshot)
    monkeypatch.setattr(solver, "_evict_on_first_fit", lambda *args, **kwargs: None)  # always the scan
    return decided, indexed, run_cycle(snapshot)


@pytest.mark.parametrize("seed", range(4))
def test_evictions_through_the_index_decide_what_the_plain_scan_decides(monkeypatch, seed):
    decided, indexed, scanned = through_index_and_scan(monkeypatch, build(CROWDED, seed))

    assert ("preempted", True) in decided and ("reclaimed", True) in decided, "an action never used the index"
    assert indexed == scanned


def gangs_over_victims(project_of_gangs: str, gang_priority: int) -> Snapshot:
    """Six 4-GPU nodes full of project p's preemptible work, newest last (a whole GPU each, or
    two halves), and three gangs of four one-GPU pods waiting."""
    running = []
    for n in range(6):
        for d in range(4):
            if (n + d) % 3:
                running.append(
                    Workload(f"w{n}{d}", "p", running=(RunningPod(f"n{n}", (d,), 0.0),), submitted_at=n * 4 + d)
                )
            else:
                for h in range(2):
                    pod = RunningPod(f"n{n}", (d,), 0.0)
                    running.append(
                        Workload(f"h{n}{d}{h}", "p", gpu_portion=0.5, running=(pod,), submitted_at=n * 4 + d)
                    )
    gangs = [
        Workload(f"gang{i}", project_of_gangs, priority=gang_priority, pods=4, gpus=1, submitted_at=100 + i)
        for i in range(3)
    ]
    quotas = (queue("p", 0), queue("q", 16)) if project_of_gangs == "q" else (queue("p", 24),)
    return Snapshot(nodes=tuple(Node(f"n{n}", gpus=4) for n in range(6)), queues=quotas, workloads=(*running, *gangs))


def queue(name: str, gpus: int) -> Queue:
    return Queue(name=name, quotas={"default": PoolQuota(deserved_milli=gpus * 1000)})


@pytest.mark.parametrize(("project", "priority"), [("p", 75), ("q", 50)], ids=["preempt", "reclaim"])
def test_gangs_go_through_the_index_too_and_decide_the_same(monkeypatch, project, priority):
    decided, indexed, scanned = through_index_and_scan(monkeypatch, gangs_over_victims(project, priority))

    assert ("gang", True) in decided, "no gang went through the index"
    assert indexed == scanned
    assert sum(1 for name in indexed.placements if name.startswith("gang")) >= 2


def half(name: str, node: str, device: int = 0, project: str = "p") -> Workload:
    return Workload(name, project, gpu_portion=0.5, preemptible=True, running=(RunningPod(node, (device,)),))


def test_the_index_finds_the_first_victim_after_which_a_node_fits_and_follows_capacity_changes():
    # Victims in list order: v0 and v2 share A's only GPU, v1 fills half of B's, whose other
    # half an outsider of another project holds.
    session = Session(
        Snapshot(
            nodes=(Node("A", gpus=1), Node("B", gpus=1)),
            workloads=(half("v0", "A"), half("v1", "B"), half("v2", "A"), half("outsider", "B", project="q")),
        ),
        DEFAULT_PLUGINS,
    )
    victims = [session.jobs[name] for name in ("v0", "v1", "v2")]
    whole_gpu = PodRequest(gpus=1, milli=1000)
    index = FirstFit(session, victims, whole_gpu, "default", eligible=lambda victim: True)

    assert index.first() == (2, ["A"])  # A is whole once v0 and v2 are gone; B never is
    assert [v.name for v in index.evicted_with(2, ["A"])] == ["v0", "v2"]

    # The outsider leaves B: now B is whole as soon as v1 goes, before A.
    statement = session.statement()
    statement.evict(session.jobs["outsider"], "gone")
    assert index.first() == (1, ["B"])

    statement.discard()
    assert index.first() == (2, ["A"])


@pytest.mark.parametrize("seed", range(3))
def test_a_reclaim_scan_judging_victims_before_stopping_them_decides_as_stopping_each(monkeypatch, seed):
    reclaim = sys.modules["agent.scheduler.actions.reclaim"]
    make_judge = reclaim._judge
    judged: list[bool] = []

    def watched(session, job):
        judge = make_judge(session, job)

        def counted():
            judged.append(True)
            return judge()

        return counted

    monkeypatch.setattr(solver, "_evict_on_first_fit", lambda *args, **kwargs: None)  # always the scan
    monkeypatch.setattr(reclaim, "_judge", watched)
    with_judge = run_cycle(build(CROWDED, seed))
    monkeypatch.setattr(reclaim, "_judge", lambda session, job: None)
    stopping_each = run_cycle(build(CROWDED, seed))

    assert judged, "no scan judged its victims"
    assert with_judge == stopping_each


def test_reclaim_without_known_limits_scans_rather_than_trusting_the_index(monkeypatch):
    def limits_unknown(session: Session) -> None:
        session.reclaim_headroom = None

    shortcut = solver._evict_on_first_fit
    used: list[str] = []

    def watched(session, job, first_fit, reason, *rest):
        used.append(reason.split()[0])
        return shortcut(session, job, first_fit, reason, *rest)

    monkeypatch.setattr(solver, "_evict_on_first_fit", watched)
    without_limits = run_cycle(build(CROWDED, 0), plugins=(*DEFAULT_PLUGINS, limits_unknown))
    monkeypatch.setattr(solver, "_evict_on_first_fit", lambda *args, **kwargs: None)  # always the scan
    scanned = run_cycle(build(CROWDED, 0))

    assert "reclaimed" not in used and "preempted" in used
    assert without_limits == scanned


@pytest.mark.parametrize("seed", range(2))
def test_the_bounds_only_spare_work_a_cycle_without_them_decides_the_same(monkeypatch, seed):
    snapshot = build(CROWDED, seed)
    asked: list[bool] = []
    bound = solver.could_fit_without

    def watched(*args, **kwargs):
        asked.append(bound(*args, **kwargs))
        return asked[-1]

    monkeypatch.setattr(solver, "could_fit_without", watched)
    bounded = run_cycle(snapshot)
    monkeypatch.setattr(solver, "could_fit_without", lambda *args, **kwargs: True)

    assert False in asked, "no bound ever spared a scan"
    assert bounded == run_cycle(snapshot)


def test_a_bounds_nodes_with_room_follow_capacity_and_victims_added():
    session = Session(build(CROWDED, 0), DEFAULT_PLUGINS)
    running = session.running_jobs()
    freed = solver.Freed(running[: len(running) // 2])

    def fresh(gpus, milli):
        profiles = freed.profiles(session)
        return {name for name, free in profiles.items() if len(free) >= gpus and free[gpus - 1] >= milli}

    asked = [(1, 1000), (2, 1000), (1, 750)]
    kept = {key: set(freed.with_room(session, *key)) for key in asked}
    assert all(kept[key] == fresh(*key) for key in asked) and any(kept.values())

    statement = session.statement()
    for job in running[-40:]:
        statement.evict(job, "test")  # capacity changes on their nodes
    for job in running[len(running) // 2 : len(running) // 2 + 40]:
        if job.pods is not None:
            freed.add(job, job.pods)  # the count grows

    assert all(freed.with_room(session, *key) == fresh(*key) for key in asked)
    assert any(freed.with_room(session, *key) != kept[key] for key in asked)
