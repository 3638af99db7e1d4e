"""Fixtures shared by the control-plane tests: users, API clients, live processes."""

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tests.polling import wait_until

REPO = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", ADMIN_PASSWORD)


@pytest.fixture
def api(client, admin_user):
    """Django's test client, signed in as an administrator, speaking JSON."""
    client.force_login(admin_user)
    return client


def basic_auth(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(**extra: str) -> dict[str, str]:
    """Environment for a server or worker process that shares this test run's database."""
    env = dict(os.environ)
    db = connection.settings_dict  # after django_db_setup: the test database
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env["SECRET_KEY"] = settings.SECRET_KEY
    env.update(extra)
    return env


@dataclass
class LiveServer:
    """The real ASGI server (uvicorn) running ``controlplane.asgi`` in its own process."""

    url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def live_server_process(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[LiveServer]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "controlplane.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--timeout-graceful-shutdown",
                "5",
            ],
            cwd=REPO,
            env=process_env(TESSERA_HEARTBEAT_INTERVAL="1"),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"server exited early:\n{server.log()}")
        try:
            return httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout=30, what="the ASGI server to answer /healthz")
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # connections still open (a browser, an agent): don't wait on them
        process.kill()
        process.wait(timeout=10)


@dataclass
class AgentProcess:
    """A real agent (``python -m agent``) connected to the live server."""

    args: list[str]
    state_dir: Path
    log_path: Path
    process: subprocess.Popen | None = None
    starts: int = field(default=0)

    def start(self) -> "AgentProcess":
        self.starts += 1
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent", *self.args], cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT
        )
        log_file.close()
        return self

    def kill(self) -> None:
        """SIGKILL: the agent gets no chance to clean up."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
