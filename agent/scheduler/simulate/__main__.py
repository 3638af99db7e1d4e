"""Command line: print a scenario's outcome as JSON, or check it against its ``expect``."""

from __future__ import annotations

import argparse
import json
import sys

from agent.scheduler.simulate import ScenarioError, run_file


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 expectations not met, 2 bad file)."""
    parser = argparse.ArgumentParser(prog="python -m agent.scheduler.simulate", description=__doc__)
    parser.add_argument("scenario", help="a scenario YAML file (see SCENARIOS.md)")
    parser.add_argument("--check", action="store_true", help="exit 0 when the expectations hold, else 1 and a diff")
    args = parser.parse_args(argv)
    try:
        scenario, outcome, problems = run_file(args.scenario)
    except (OSError, ScenarioError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.check:
        print(json.dumps(outcome, indent=2))
        return 0
    if not problems:
        print(f"ok: {scenario.name}")
        return 0
    print(f"FAILED: {scenario.name}")
    for problem in problems:
        print(f"  - {problem}")
    print(json.dumps(outcome, indent=2))
    return 1


if __name__ == "__main__":
    sys.exit(main())
