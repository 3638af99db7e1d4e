"""Every scenario file, ours and the shared examples, through the code behind `simulate --check`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from agent.scheduler.simulate import load, run_file, simulate

REPO = Path(__file__).resolve().parents[3]
OURS = Path(__file__).resolve().parent / "scenarios"
SHARED = REPO.parent / "shared" / "scheduler" / "scenarios"


def scenario_files() -> list:
    found = [pytest.param(path, id=path.stem) for path in sorted(OURS.glob("*.yaml"))]
    if SHARED.is_dir():
        found += [pytest.param(path, id=f"shared-{path.stem}") for path in sorted(SHARED.glob("*.yaml"))]
    else:
        found.append(
            pytest.param(
                SHARED,
                id="shared-examples",
                marks=pytest.mark.skip(reason=f"the shared examples folder {SHARED} is absent from this checkout"),
            )
        )
    return found


@pytest.mark.parametrize("path", scenario_files())
def test_scenario_holds(path: Path) -> None:
    scenario, outcome, problems = run_file(path)

    assert problems == [], f"{scenario.name}:\n" + "\n".join(problems) + "\n" + json.dumps(outcome, indent=1)


@pytest.mark.parametrize("path", scenario_files())
def test_scenario_is_stable_after_more_rounds(path: Path) -> None:
    scenario = load(path)

    def final(rounds: int) -> dict:
        outcome = simulate(replace(scenario, rounds=rounds))
        return {name: (w["state"], w.get("pods"), w["evictions"]) for name, w in outcome["workloads"].items()}

    assert final(scenario.rounds + 4) == final(scenario.rounds)


def test_our_suite_is_large_and_names_are_unique() -> None:
    names = [run_file(path)[0].name for path in sorted(OURS.glob("*.yaml"))]

    assert len(names) >= 60
    assert len(set(names)) == len(names)
    assert all(path.stem == run_file(path)[0].name for path in OURS.glob("*.yaml"))


def test_the_command_checks_a_file_and_prints_json() -> None:
    path = OURS / "reclaim-restores-deserved-quota.yaml"
    command = [sys.executable, "-m", "agent.scheduler.simulate", str(path)]

    checked = subprocess.run([*command, "--check"], cwd=REPO, capture_output=True, text=True, timeout=60)
    printed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    outcome = json.loads(printed.stdout)
    assert outcome["rounds"] == 3
    assert outcome["workloads"]["a1"]["state"] == "running"


def test_the_command_fails_with_a_readable_diff(tmp_path: Path) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(
        "name: wrong\nnodes: [{name: n, gpus: 1}]\nqueues: [{name: p, deserved_gpus: 1}]\n"
        "workloads: [{name: w, project: p}]\nexpect: {pending: [w]}\n"
    )

    result = subprocess.run(
        [sys.executable, "-m", "agent.scheduler.simulate", str(path), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "pending: expected [w], got []" in result.stdout


def test_a_settled_cluster_evicts_each_victim_once() -> None:
    _, outcome, _ = run_file(OURS / "settled-cluster-stays-settled.yaml")

    evictions = {name: entry["evictions"] for name, entry in outcome["workloads"].items()}
    assert evictions == {"b1": 0, "b2": 0, "b3": 1, "b4": 1, "a1": 0, "a2": 0, "a3": 0}


def test_outcome_reports_portions_of_each_device() -> None:
    _, outcome, _ = run_file(OURS / "fraction-by-memory-shares-a-device.yaml")
    _, dynamic, _ = run_file(OURS / "dynamic-fraction-places-by-its-request.yaml")

    assert outcome["workloads"]["m1"]["pods"] == [{"node": "node-1", "gpus": [0], "portion": 0.5}]
    assert dynamic["workloads"]["d1"]["pods"][0]["portion"] == 0.25
    assert dynamic["workloads"]["d1"]["pods"][0]["portion_limit"] == 0.8
