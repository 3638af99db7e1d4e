"""Which way imports may go inside the agent (see DESIGN.md): checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

AGENT = Path(__file__).resolve().parents[2] / "agent"
CONTROL_PLANE = {"django", "rest_framework", "channels", "celery"} | {
    "accounts",
    "clusters",
    "workloads",
    "frontend",
    "controlplane",
}
NOT_FOR_THE_SCHEDULER = {
    "agent.runtime",
    "agent.gpu",
    "agent.connection",
    "websockets",
    "subprocess",
    "httpx",
    "requests",
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offending(paths: list[Path], forbidden: set[str]) -> dict[str, set[str]]:
    found = {}
    for path in paths:
        bad = {n for n in imports_of(path) if any(n == f or n.startswith(f + ".") for f in forbidden)}
        if bad:
            found[str(path.relative_to(AGENT.parent))] = bad
    return found


def test_the_agent_never_imports_django_or_the_control_plane() -> None:
    assert offending(sorted(AGENT.rglob("*.py")), CONTROL_PLANE) == {}


def test_the_scheduler_imports_nothing_from_runtimes_the_network_or_the_gpu_layer() -> None:
    assert offending(sorted((AGENT / "scheduler").rglob("*.py")), NOT_FOR_THE_SCHEDULER) == {}


def test_the_supervisor_runs_on_the_standard_library_alone() -> None:
    local = AGENT / "runtime" / "local"
    paths = [
        local / "supervisor.py",
        local / "layout.py",
        local / "__init__.py",
        AGENT / "runtime" / "__init__.py",
        AGENT / "__init__.py",
    ]
    third_party_or_agent = {"pydantic", "websockets", "pynvml", "agent.protocol", "agent.runtime.base"}

    assert offending(paths, third_party_or_agent) == {}
