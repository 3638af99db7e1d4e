"""``python -m agent`` as a real process against a real (minimal) websocket server."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection

from agent.cli import build_parser, connect_url, main
from agent.protocol import DesiredStateMessage, WelcomeMessage, dump_message, parse_message
from tests.agent.conftest import make_spec
from tests.agent.fake_control_plane import control_plane

REPO = Path(__file__).resolve().parents[2]


def test_the_connect_url_is_the_clusters_agent_endpoint() -> None:
    assert connect_url("ws://127.0.0.1:8000/", "abc") == ("ws://127.0.0.1:8000/agent/v1/clusters/abc/connect")


def test_the_command_line_has_the_agreed_defaults() -> None:
    args = build_parser().parse_args(["--server", "ws://h:1", "--cluster-id", "c", "--state-dir", "/s"])

    assert (args.simulated_gpus, args.simulated_gpu_memory_mib) == (0, 81920)
    assert (args.stop_grace_seconds, args.log_level) == (10.0, "INFO")


async def start_agent(server: Server, state_dir: Path, log: Path, *extra: str) -> asyncio.subprocess.Process:
    port = server.sockets[0].getsockname()[1]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent",
        "--server",
        f"ws://127.0.0.1:{port}",
        "--cluster-id",
        "c-1",
        "--state-dir",
        str(state_dir),
        "--node-name",
        "node-x",
        *extra,
        cwd=REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


async def terminate(agent: asyncio.subprocess.Process) -> int:
    if agent.returncode is None:
        agent.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(agent.wait(), timeout=10)


def test_the_agent_process_runs_a_workload_for_the_control_plane(state_dir: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    log = tmp_path / "agent.log"
    received: list[Any] = []
    finished = asyncio.Event()

    async def control(connection: ServerConnection) -> None:
        received.append(parse_message(await connection.recv(), sender="agent"))
        await connection.send(dump_message(WelcomeMessage(seq=1, cluster_id="c-1", heartbeat_interval=0.2)))
        spec = make_spec("w1", command='echo "gpus=$CUDA_VISIBLE_DEVICES"', gpu_devices=1)
        await connection.send(dump_message(DesiredStateMessage(seq=2, full=True, workloads=[spec])))
        async for raw in connection:
            message = parse_message(raw, sender="agent")
            received.append(message)
            if message.type == "workload_status" and message.status.phase.is_terminal:
                finished.set()

    async def scenario() -> int:
        async with control_plane(control) as (server, requests):
            agent = await start_agent(server, state_dir, log, "--token-file", str(token_file), "--simulated-gpus", "2")
            try:
                await asyncio.wait_for(finished.wait(), timeout=20)
            finally:
                code = await terminate(agent)
            assert requests[0].path == "/agent/v1/clusters/c-1/connect"
            return code

    assert asyncio.run(scenario()) == 0, log.read_text()
    hello = received[0]
    assert hello.type == "hello" and hello.inventory.nodes[0].name == "node-x"
    assert [g.simulated for g in hello.inventory.nodes[0].gpus] == [True, True]
    chunks = [m.data for m in received if m.type == "log_chunk"]
    assert chunks == ["gpus=0\n"]
    final = [m.status for m in received if m.type == "workload_status" and m.status.phase.is_terminal]
    assert [(s.phase.value, s.exit_code, s.gpus) for s in final] == [("Completed", 0, ["SIM-GPU-node-x-0"])]


def test_an_agent_with_a_wrong_token_says_so_and_keeps_retrying(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_AGENT_TOKEN", "wrong")
    log = tmp_path / "agent.log"

    async def never(connection: ServerConnection) -> None:
        raise AssertionError("a refused agent must not get a connection")

    async def scenario() -> int:
        async with control_plane(never) as (server, requests):
            agent = await start_agent(server, state_dir, log)
            try:
                async with asyncio.timeout(20):
                    while len(requests) < 2:
                        await asyncio.sleep(0.05)
            finally:
                code = await terminate(agent)
            return code

    assert asyncio.run(scenario()) == 0, log.read_text()
    assert "refused this agent (HTTP 403)" in log.read_text()


def test_the_agent_refuses_to_start_without_a_token(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESSERA_AGENT_TOKEN", raising=False)

    with pytest.raises(SystemExit) as raised:
        main(["--server", "ws://h:1", "--cluster-id", "c", "--state-dir", str(state_dir)])

    assert raised.value.code == 2
