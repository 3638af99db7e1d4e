"""The first-fit index over victims is a shortcut, not a rule: every cycle decides exactly what
the plain evict-then-place scan decides, for preemption and for reclaim (whose fair-share rule
changes as victims go), and the shortcut is really taken."""

from dataclasses import replace

import pytest

from agent.scheduler import Node, RunningPod, Snapshot, Workload
from agent.scheduler.bench_cases import CASES, build
from agent.scheduler.cycle import run_cycle
from agent.scheduler.framework import Session, solver
from agent.scheduler.framework.first_fit import FirstFit
from agent.scheduler.placement import PodRequest
from agent.scheduler.plugins import DEFAULT_PLUGINS

# A small cluster full of fractional work, projects far over and under quota: many jobs
# preempt and reclaim, most of them lone pods that fit nowhere until victims go.
CROWDED = replace(CASES["cluster-4k-skewed"], nodes=40, running=1_300, pending=300)


@pytest.mark.parametrize("seed", range(4))
def test_evictions_through_the_index_decide_what_the_plain_scan_decides(monkeypatch, seed):
    snapshot = build(CROWDED, seed)
    shortcut = solver._evict_on_first_fit
    decided: list[tuple[str, bool | None]] = []

    def watched(session, job, first_fit, reason, *rest):
        decided.append((reason.split()[0], shortcut(session, job, first_fit, reason, *rest)))
        return decided[-1][1]

    monkeypatch.setattr(solver, "_evict_on_first_fit", watched)
    indexed = run_cycle(snapshot)
    monkeypatch.setattr(solver, "_evict_on_first_fit", lambda *args, **kwargs: None)  # always the scan
    scanned = run_cycle(snapshot)

    assert ("preempted", True) in decided and ("reclaimed", True) in decided, "an action never used the index"
    assert indexed == scanned


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
