"""Run Tessera on one machine: the ASGI server and, beside it, a local agent."""

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import uvicorn
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management.base import BaseCommand

from clusters.local import ensure_local_cluster
from clusters.services import mark_silent_clusters_offline

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serve Tessera (ASGI) and start a local agent that registers this machine as a cluster."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-agent", action="store_true", help="Serve only; run no local agent.")
        parser.add_argument(
            "--simulated-gpus",
            type=int,
            default=int(os.environ.get("TESSERA_SIMULATED_GPUS", "4")),
            help="Devices the local agent declares when NVML finds no GPU (0 for none).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            asyncio.run(self._serve(options))
        except KeyboardInterrupt:
            # uvicorn re-raises Ctrl-C once it has shut down; the agent is already stopped.
            self.stdout.write("Tessera stopped.")

    async def _serve(self, options: dict[str, Any]) -> None:
        config = uvicorn.Config(
            "controlplane.asgi:application", host=options["host"], port=options["port"], lifespan="off"
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if serving.done():
            return serving.result()
        self.stdout.write(f"Tessera is serving on http://{options['host']}:{options['port']}/")
        agent = None if options["no_agent"] else await self._start_agent(options)
        sweeper = asyncio.create_task(self._sweep_silent_clusters()) if settings.CELERY_TASK_ALWAYS_EAGER else None
        try:
            await serving
        finally:
            if sweeper:
                sweeper.cancel()
            if agent and agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
                agent.wait(timeout=10)

    async def _start_agent(self, options: dict[str, Any]) -> subprocess.Popen[bytes]:
        local = await sync_to_async(ensure_local_cluster)()
        host = "127.0.0.1" if options["host"] in ("0.0.0.0", "::") else options["host"]
        command = [
            sys.executable, "-m", "agent",
            "--server", f"ws://{host}:{options['port']}",
            "--cluster-id", str(local.cluster.pk),
            "--token-file", str(local.token_file),
            "--state-dir", str(Path(settings.VAR_DIR) / "agent"),
            "--simulated-gpus", str(options["simulated_gpus"]),
        ]  # fmt: skip
        self.stdout.write(f"Starting the local agent for cluster {local.cluster.name!r} ({local.cluster.pk})")
        return subprocess.Popen(command, cwd=settings.BASE_DIR)

    async def _sweep_silent_clusters(self) -> None:
        """Without Celery beat (embedded default), run the offline sweep here."""
        while True:
            await asyncio.sleep(settings.TESSERA_OFFLINE_SWEEP_SECONDS)
            try:
                await sync_to_async(mark_silent_clusters_offline)()
            except Exception:
                log.exception("offline sweep failed")
