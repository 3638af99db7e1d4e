"""How many agent messages per second the control plane absorbs, with PostgreSQL and Redis.

    python -m benchmarks.agent_messages [--agents 50] [--seconds 10] [--window 8]

Builds a database of its own (``tessera_bench_agents`` on the local PostgreSQL unless
``BENCH_DATABASE_URL`` names another), registers one cluster per simulated agent with one
running workload each, serves it with uvicorn (channel layer on Redis: ``BENCH_REDIS_URL``,
default ``redis://127.0.0.1:6379/0``, under a prefix of its own), and connects every simulated
agent over a real websocket. Each agent says hello, then sends one kind of message at a time as
fast as the control plane acknowledges it, keeping at most ``--window`` unacknowledged: heartbeats,
workload statuses (each one a change: its message differs) and 1 KiB log chunks (consecutive
offsets, each stored). Prints JSON: acknowledged messages per second, by kind.

A benchmark, not a test: it asserts nothing about time. The machine it runs on (CPU count and
load) shapes the figures; they compare runs on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/tessera_bench_agents"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
KINDS = ("heartbeat", "workload_status", "log_chunk")


def seed(agents: int) -> list[dict[str, str]]:
    """Migrate, register a cluster per agent with one running workload; their ids and tokens."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from clusters import services
    from workloads.models import Workload

    call_command("migrate", verbosity=0)
    registered = []
    for i in range(agents):
        new = services.register_cluster(f"bench-{i}")
        project = services.ensure_default_organisation(new.cluster)
        workload = Workload.objects.create(
            name=f"w{i}", project=project, cluster=new.cluster, command="true", created_at=timezone.now()
        )
        registered.append({"cluster": str(new.cluster.pk), "token": new.token, "workload": str(workload.pk)})
    return registered


class SimulatedAgent:
    """One websocket, speaking the agent protocol with pipelined sends and counted acks."""

    def __init__(self, ws_url: str, cluster: dict[str, str], window: int) -> None:
        self.url = f"{ws_url}/agent/v1/clusters/{cluster['cluster']}/connect"
        self.token = cluster["token"]
        self.workload = cluster["workload"]
        self.window = window
        self.seq = 0
        self.acked = 0
        self.log_offset = 0
        self.sent_kind = 0

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        from agent.protocol import GpuDevice, HelloMessage, Inventory, NodeInventory, dump_message

        self.ws = await connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"}, max_size=None)
        gpu = GpuDevice(index=0, uuid=f"SIM-{self.workload}", model="Simulated GPU", memory_mib=81920, simulated=True)
        inventory = Inventory(nodes=[NodeInventory(name="node", simulated=True, gpus=[gpu])])
        await self._send(dump_message(HelloMessage(seq=self._next(), agent_version="bench", inventory=inventory)))
        for _ in range(3):  # welcome, the full desired state, the hello's ack
            await self.ws.recv()
        self.acked = self.seq

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    async def _send(self, text: str) -> None:
        await self.ws.send(text)

    def message(self, kind: str) -> str:
        from agent.protocol import (
            HeartbeatMessage,
            LogChunkMessage,
            WorkloadPhase,
            WorkloadStatus,
            WorkloadStatusMessage,
            dump_message,
        )

        seq = self._next()
        if kind == "heartbeat":
            return dump_message(HeartbeatMessage(seq=seq))
        if kind == "workload_status":
            status = WorkloadStatus(
                workload_id=self.workload, phase=WorkloadPhase.RUNNING, message=f"step {seq}", node="node"
            )
            return dump_message(WorkloadStatusMessage(seq=seq, status=status))
        data = f"{seq:08d} " + "x" * 1014 + "\n"
        chunk = LogChunkMessage(
            seq=seq, workload_id=self.workload, stream="stdout", offset=self.log_offset, size=len(data), data=data
        )
        self.log_offset += len(data)
        return dump_message(chunk)

    async def drive(self, kind: str, until: float) -> int:
        """Send ``kind`` until ``until`` (monotonic); returns the messages acknowledged."""
        first = self.seq + 1
        reader = asyncio.create_task(self._read_acks())
        try:
            while time.monotonic() < until:
                if self.seq - self.acked >= self.window:
                    await asyncio.sleep(0.001)
                    continue
                await self._send(self.message(kind))
            while self.acked < self.seq and time.monotonic() < until + 120:
                await asyncio.sleep(0.01)  # the ones in flight: counted, and so is the time they take
        finally:
            reader.cancel()
        return max(0, self.acked - first + 1)

    async def _read_acks(self) -> None:
        while True:
            data = json.loads(await self.ws.recv())
            if data.get("type") == "ack":
                self.acked = max(self.acked, int(data["ack_seq"]))
            elif data.get("type") == "error":
                raise SystemExit(f"the control plane refused a message: {data}")


async def run(ws_url: str, clusters: list[dict[str, str]], seconds: float, window: int) -> dict[str, dict]:
    agents = [SimulatedAgent(ws_url, cluster, window) for cluster in clusters]
    for batch in range(0, len(agents), 25):
        await asyncio.gather(*(agent.connect() for agent in agents[batch : batch + 25]))
    results = {}
    for kind in KINDS:
        began = time.monotonic()
        counts = await asyncio.gather(*(agent.drive(kind, began + seconds) for agent in agents))
        elapsed = time.monotonic() - began
        results[kind] = {
            "acknowledged": sum(counts),
            "seconds": round(elapsed, 2),
            "per_second": round(sum(counts) / elapsed, 1),
        }
    for agent in agents:
        await agent.ws.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=8, help="unacknowledged messages per agent")
    args = parser.parse_args()

    from benchmarks.workload_api import recreate_database, serve

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
        TESSERA_CHANNEL_PREFIX=f"bench-{secrets.token_hex(4)}",
        DJANGO_SETTINGS_MODULE="controlplane.settings",
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        TESSERA_HEARTBEAT_INTERVAL="5",
    )
    sys.path.insert(0, str(REPO))
    recreate_database(database_url)
    clusters = seed(args.agents)
    server, url = serve(dict(os.environ))
    try:
        results = asyncio.run(run(url.replace("http://", "ws://"), clusters, args.seconds, args.window))
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print(
        json.dumps(
            {
                "agents": args.agents,
                "window": args.window,
                "database": "postgresql",
                "channel_layer": "redis",
                "server": "one uvicorn process",
                "cpus": os.cpu_count(),
                "messages_per_second": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
