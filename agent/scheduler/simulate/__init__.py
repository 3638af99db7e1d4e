"""Scenario simulation: ``python -m agent.scheduler.simulate SCENARIO.yaml [--check]``.

``run_file`` is the one code path behind the command and the scenario tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.scheduler.simulate.expect import check
from agent.scheduler.simulate.loader import Scenario, ScenarioError, load, parse
from agent.scheduler.simulate.rounds import simulate


def run_file(path: str | Path) -> tuple[Scenario, dict[str, Any], list[str]]:
    """Load the scenario at ``path``, simulate it and check it: (scenario, outcome, problems)."""
    scenario = load(path)
    outcome = simulate(scenario)
    return scenario, outcome, check(scenario.expect, outcome)


__all__ = ["Scenario", "ScenarioError", "check", "load", "parse", "run_file", "simulate"]
