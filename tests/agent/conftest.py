"""Fixtures for the agent's tests: plain pytest, no Django, no network."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.protocol import WorkloadSpec
from agent.runtime.local.runtime import LocalRuntime
from tests.polling import wait_until


def make_spec(workload_id: str = "w1", command: str = "true", **fields: Any) -> WorkloadSpec:
    """A workload spec with sensible defaults for tests."""
    values: dict[str, Any] = {
        "id": workload_id,
        "name": f"name-{workload_id}",
        "project": "team-a",
        "command": command,
        "submitted_at": datetime(2025, 1, 1, tzinfo=UTC),
    }
    values.update(fields)
    return WorkloadSpec(**values)


def stop_everything(state_dir: Path) -> None:
    """Stop whatever still runs under ``state_dir`` so no test leaves processes behind."""
    runtime = LocalRuntime(state_dir)
    for workload_id, status in runtime.poll().items():
        if not status.phase.is_terminal:
            runtime.stop(workload_id, grace_seconds=0)
    wait_until(
        lambda: all(s.phase.is_terminal for s in runtime.poll().values()),
        what="leftover workloads to stop",
    )


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """An agent state directory; anything still running in it is stopped at teardown."""
    path = tmp_path / "state"
    path.mkdir()
    yield path
    if (path / "workloads").exists():
        stop_everything(path)


@pytest.fixture
def runtime(state_dir: Path) -> LocalRuntime:
    return LocalRuntime(state_dir)


def run_to_end(state_dir: Path, spec: WorkloadSpec) -> None:
    """Run ``spec`` to its end in ``state_dir``, as an earlier agent process would have."""
    runtime = LocalRuntime(state_dir)
    runtime.start(spec, "node-a", [])
    wait_until(lambda: runtime.poll()[spec.id].phase.is_terminal, what=f"workload {spec.id} to finish")
