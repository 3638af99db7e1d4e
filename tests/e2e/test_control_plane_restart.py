"""The control plane restarts while a real agent runs work: the agent keeps running and
scheduling, keeps what happened meanwhile on disk, and when the control plane is back every
status change and every log line arrives once, in order."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, REPO, AgentProcess, free_port, process_env, wait_until
from tests.e2e.test_walking_skeleton import submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class RestartableServer:
    """uvicorn serving ``controlplane.asgi`` on one port, stopped and started again by the test."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "controlplane.asgi:application", "--port", str(self.port)],
                cwd=REPO,
                env=process_env(TESSERA_HEARTBEAT_INTERVAL="1"),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log_path.read_text()
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=30, what="the control plane to answer")

    def kill(self) -> None:
        """SIGKILL: the control plane goes away mid-conversation."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableServer]:
    server = RestartableServer(tmp_path / "server.log")
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.process.terminate()
        server.process.wait(timeout=10)


def test_a_control_plane_restart_loses_and_duplicates_no_status_or_log_line(server, cluster, admin_user, tmp_path):
    cluster_obj, token, project = cluster
    flag = tmp_path / "cp-is-down"
    (tmp_path / "token").write_text(token)
    agent = AgentProcess(
        args=["--server", server.url.replace("http://", "ws://"), "--cluster-id", str(cluster_obj.pk),
              "--token-file", str(tmp_path / "token"), "--state-dir", str(tmp_path / "state"),
              "--node-name", "node-a", "--simulated-gpus", "1"],
        state_dir=tmp_path / "state",
        log_path=tmp_path / "agent.log",
    )  # fmt: skip
    agent.start()
    http = httpx.Client(base_url=server.url, auth=("admin", ADMIN_PASSWORD), timeout=10)
    try:
        # The talker prints numbered lines until the control plane is down, then a last one; the
        # follower needs the only GPU, so it runs and ends while the control plane is away.
        talker = submit(
            http, project, "talker",
            f'i=0; while [ ! -e {flag} ] && [ $i -lt 2000 ]; do i=$((i+1)); echo "line $i"; sleep 0.02; done; '
            'echo "last line"',
            gpus=1,
        )["workloadId"]  # fmt: skip
        follower = submit(http, project, "follower", "echo follower ran; sleep 0.3", gpus=1)["workloadId"]

        def stored_lines() -> list[str]:
            return http.get(f"/api/v1/workloads/{talker}/logs?stream=stdout").text.splitlines()

        wait_until(lambda: len(stored_lines()) >= 5, what="some of the talker's output to be stored")
        assert http.get(f"/api/v1/workloads/{follower}").json()["phase"] == "Pending"

        server.kill()
        flag.touch()
        follower_dir = agent.state_dir / "workloads" / follower
        wait_until(lambda: (follower_dir / "exit_code").exists(), what="the follower to run and end meanwhile")
        assert agent.process is not None and agent.process.poll() is None
        server.start()

        for workload in (talker, follower):
            wait_until(
                lambda w=workload: http.get(f"/api/v1/workloads/{w}").json()["phase"] == "Completed",
                timeout=40,
                what=f"{workload} to be reported Completed",
            )
        lines = wait_until(
            lambda: (found := stored_lines()) and found[-1] == "last line" and found, what="the talker's last line"
        )
        numbered = lines[:-1]
        assert numbered == [f"line {i}" for i in range(1, len(numbered) + 1)], "a line lost or repeated"
        assert http.get(f"/api/v1/workloads/{follower}/logs").text == "follower ran\n"
        for workload in (talker, follower):
            events = http.get(f"/api/v1/workloads/{workload}/events").json()["events"]
            phases = [e["reason"] for e in events if e["reason"] in ("Running", "Completed")]
            assert phases == ["Running", "Completed"], (workload, events, agent.log())
        wait_until(lambda: not (agent.state_dir / "outbox.jsonl").read_text(), what="the outbox to empty")
    finally:
        http.close()
        agent.stop()
