"""Command line of the agent: ``python -m agent --server ws://... --cluster-id ... --token ...``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from agent.connection.outbox import Outbox
from agent.connection.transport import WebSocketTransport
from agent.core import Agent, AgentConfig
from agent.gpu.discovery import discover_inventory
from agent.gpu.setup import fraction_config, gpu_guard
from agent.protocol import Inventory
from agent.runtime.local.runtime import LocalRuntime

log = logging.getLogger("agent")

TOKEN_ENV = "TESSERA_AGENT_TOKEN"


def connect_url(server: str, cluster_id: str) -> str:
    """The agent websocket endpoint of ``cluster_id`` on ``server`` (``ws://host:port``)."""
    return f"{server.rstrip('/')}/agent/v1/clusters/{cluster_id}/connect"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agent",
        description="Tessera's in-cluster agent: runs the workloads the control plane wants.",
    )
    parser.add_argument("--server", required=True, help="control plane, e.g. ws://127.0.0.1:8000")
    parser.add_argument("--cluster-id", required=True, help="this cluster's id (a UUID)")
    token = parser.add_mutually_exclusive_group()
    token.add_argument("--token", help=f"the cluster's agent token (or set {TOKEN_ENV})")
    token.add_argument("--token-file", type=Path, help="a file holding the agent token")
    parser.add_argument("--state-dir", required=True, type=Path, help="where workloads are kept")
    parser.add_argument("--node-name", default=socket.gethostname(), help="default: hostname")
    parser.add_argument(
        "--node-label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a label of this node, which node pools select nodes by (repeatable)",
    )
    parser.add_argument(
        "--simulated-gpus",
        type=int,
        default=0,
        help="declare this many simulated GPUs when NVML finds no real one (default 0)",
    )
    parser.add_argument("--simulated-gpu-memory-mib", type=int, default=81920)
    parser.add_argument(
        "--stop-grace-seconds",
        type=float,
        default=10.0,
        help="time between SIGTERM and SIGKILL when a workload is stopped (default 10)",
    )
    parser.add_argument(
        "--mps",
        choices=["off", "own", "external"],
        default="off",
        help="NVIDIA MPS for GPU fractions: off; own (the agent starts the control daemon under "
        "--state-dir); external (the node runs one already). Default off",
    )
    parser.add_argument(
        "--mps-compute-mode",
        choices=["fair", "strict"],
        default="fair",
        help="with MPS: strict caps each fraction's SMs at its portion; fair time-slices (default)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    )
    return parser


def resolve_token(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """The token from --token, --token-file or the environment, in that order."""
    if args.token:
        return str(args.token)
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            parser.error(f"cannot read --token-file: {exc}")
        if not token:
            parser.error(f"--token-file {args.token_file} is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        parser.error(f"an agent token is required: --token, --token-file or {TOKEN_ENV}")
    return token


def node_labels(parser: argparse.ArgumentParser, given: list[str]) -> dict[str, str]:
    """``--node-label KEY=VALUE`` options as the node's labels."""
    labels = {}
    for label in given:
        key, sep, value = label.partition("=")
        if not sep or not key.strip():
            parser.error(f"--node-label {label!r}: give KEY=VALUE")
        labels[key.strip()] = value.strip()
    return labels


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.server.startswith(("ws://", "wss://")):
        parser.error("--server must start with ws:// or wss://")
    if args.simulated_gpus < 0 or args.simulated_gpu_memory_mib < 0:
        parser.error("--simulated-gpus and --simulated-gpu-memory-mib cannot be negative")
    if args.stop_grace_seconds < 0:
        parser.error("--stop-grace-seconds cannot be negative")
    token = resolve_token(parser, args)
    labels = node_labels(parser, args.node_label)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    inventory = discover_inventory(args.node_name, args.simulated_gpus, args.simulated_gpu_memory_mib)
    if labels:
        inventory = Inventory(nodes=[node.model_copy(update={"labels": labels}) for node in inventory.nodes])
    fractions = fraction_config(args.state_dir, args.mps, args.mps_compute_mode)
    runtime = LocalRuntime(args.state_dir, fractions=fractions)
    url = connect_url(args.server, args.cluster_id)
    agent = Agent(
        runtime,
        inventory,
        transport_factory=lambda: WebSocketTransport(url, token),
        config=AgentConfig(stop_grace_seconds=args.stop_grace_seconds),
        guard=gpu_guard(inventory, runtime, fractions, args.stop_grace_seconds),
        outbox=Outbox(args.state_dir / "outbox.jsonl"),
    )
    gpus = sum(len(node.gpus) for node in inventory.nodes)
    simulated = " simulated" if any(node.simulated for node in inventory.nodes) else ""
    log.info(
        "agent for cluster %s on node %s with %d%s GPUs: connecting to %s",
        args.cluster_id,
        args.node_name,
        gpus,
        simulated,
        url,
    )
    asyncio.run(_serve(agent))
    return 0


async def _serve(agent: Agent) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await agent.run(stop)
