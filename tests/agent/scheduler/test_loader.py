"""Reading scenario files: defaults, and clear errors for files that break the format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.scheduler.simulate import ScenarioError, parse

REPO = Path(__file__).resolve().parents[3]


def test_defaults_follow_scenarios_md() -> None:
    scenario = parse(
        {
            "name": "defaults",
            "nodes": [{"name": "n"}],
            "queues": [{"name": "p", "deserved_gpus": 0.5, "pools": {"a100": {"limit_gpus": 2}}}],
            "workloads": [{"name": "a", "project": "p"}, {"name": "b", "project": "p", "priority": "interactive"}],
        }
    )

    node, queue = scenario.snapshot.nodes[0], scenario.snapshot.queues[0]
    first, second = scenario.snapshot.workloads
    assert (node.pool, node.gpu_memory_mib, node.cpu_milli) == ("default", 81920, None)
    assert queue.quota("default").deserved_milli == 500
    assert queue.quota("a100").limit_milli == 2000
    assert queue.quota("a100").deserved_milli == 0
    assert (first.priority, first.is_preemptible, first.submitted_at, first.gpus, first.pods) == (50, True, 0, 1, 1)
    assert (second.priority, second.is_preemptible, second.submitted_at) == (100, False, 1)
    assert (scenario.rounds, scenario.snapshot.placement, scenario.snapshot.consolidation) == (3, "binpack", True)
    assert scenario.snapshot.cpu_placement is None  # Tessera's own key: CPU-only pods go by placement


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nodes": []}, "needs a name"),
        ({"name": "x", "workloads": [{"name": "w"}]}, "needs a project"),
        ({"name": "x", "workloads": [{"name": "w", "project": "p", "priority": "urgent"}]}, "priority 'urgent'"),
        ({"name": "x", "workloads": [{"name": "w", "project": "p", "gpu_portion": 1.5}]}, "gpu_portion"),
        ({"name": "x", "nodes": [{"name": "n"}, {"name": "n"}]}, "node n is declared twice"),
        ({"name": "x", "workloads": [{"name": "w", "project": "p", "pods": 0}]}, "pods must be at least 1"),
        (
            {"name": "x", "workloads": [{"name": "w", "project": "p", "gpu_portion": 0.5, "gpu_memory_mib": 1}]},
            "not both",
        ),
        (
            {"name": "x", "workloads": [{"name": "w", "project": "p", "gpu_portion": 0.5, "gpu_portion_limit": 0.2}]},
            "gpu_portion_limit",
        ),
        ({"name": "x", "config": {"cpu_placement": "tight"}}, "cpu_placement must be one of binpack, spread"),
    ],
)
def test_broken_files_get_a_clear_error(data: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse(data)


def test_the_command_reports_a_broken_file_with_exit_status_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nworkloads: [{name: w, project: p, priority: urgent}]\n")

    result = subprocess.run(
        [sys.executable, "-m", "agent.scheduler.simulate", str(path), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "priority 'urgent'" in result.stderr
