"""The benchmark command prints one JSON object of figures, on a snapshot that depends only on
its seed. Nothing here judges how fast a cycle is."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from agent.scheduler import run_cycle
from agent.scheduler.bench import main
from agent.scheduler.bench_cases import CASES, CaseSize, build
from agent.scheduler.framework import Session
from agent.scheduler.plugins import DEFAULT_PLUGINS

PROJECTS = [f"dept-{d}-proj-{p}" for d in range(4) for p in range(5)]
FIELDS = {"case", "nodes", "pods", "cycle_s", "build_s", "placed", "evicted", "pending"}


def test_the_command_prints_its_figures_as_a_json_last_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--case", "tiny", "--seed", "3"]) == 0

    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert FIELDS <= set(figures)
    assert figures["case"] == "tiny"
    assert figures["nodes"] == CASES["tiny"].nodes
    assert figures["running"] == CASES["tiny"].running
    assert figures["workloads"] == CASES["tiny"].running + CASES["tiny"].pending


def test_the_same_seed_builds_the_same_snapshot_and_another_seed_does_not() -> None:
    assert build("tiny", 5) == build("tiny", 5)
    assert build("tiny", 5) != build("tiny", 6)


def test_running_work_fits_where_the_snapshot_puts_it() -> None:
    # Loading a snapshot checks every running pod against its node's capacity.
    snapshot = build(CaseSize(nodes=20, running=150, pending=30, running_mix=CASES["cluster-4k"].running_mix), 1)

    outcome = run_cycle(snapshot)

    assert sum(1 for w in snapshot.workloads if w.running) == 150
    assert set(outcome.pending) | set(outcome.placements) <= {w.name for w in snapshot.workloads}


def test_a_mixed_case_makes_every_kind_of_decision() -> None:
    snapshot = build(CaseSize(nodes=60, running=300, pending=400, running_mix=CASES["cluster-1k"].running_mix), 7)

    outcome = run_cycle(snapshot)

    reasons = " ".join(outcome.evictions.values())
    assert "reclaimed" in reasons and "preempted" in reasons
    assert outcome.placements and outcome.pending


def test_a_skewed_case_runs_projects_far_over_and_under_their_quota() -> None:
    size = replace(CASES["cluster-4k-skewed"], nodes=40, running=1_300, pending=100)
    session = Session(build(size, 2), DEFAULT_PLUGINS)

    held = {q: session.allocated[q, "default"] / session.tree.quota(q, "default").deserved_milli for q in PROJECTS}
    assert max(held.values()) > 2.0
    assert min(held.values()) < 0.5


def test_repeated_cycles_report_the_least_time_and_each_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--case", "tiny", "--repeat", "3"]) == 0

    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(figures["cycle_cpu_s_each"]) == 3
    assert figures["cycle_cpu_s"] == min(figures["cycle_cpu_s_each"])
