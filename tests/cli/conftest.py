"""The ``tessera`` command run as a user runs it: the installed console script, as a subprocess,
against the real server (and, where work must run, a real agent), with its own config file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.e2e.conftest import agent, cluster, http  # noqa: F401 (fixtures shared with the e2e tests)
from tests.sso.conftest import admin_api, browser, oidc_idp, oidc_op  # noqa: F401 (a real OpenID provider)

TESSERA = Path(sys.executable).parent / "tessera"  # installed by requirements-dev.txt (-e ./cli)


class Tessera:
    """Runs ``tessera ARGS`` with its config file in a temporary home; answers the finished process."""

    def __init__(self, home: Path, server: LiveServer) -> None:
        self.home = home
        self.server = server
        self.config_path = home / ".config" / "tessera" / "config.yaml"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        env.update({"HOME": str(self.home), "XDG_CONFIG_HOME": str(self.home / ".config"), "COLUMNS": "120", **extra})
        return env

    def __call__(self, *args: str, input: str | None = None, timeout: float = 60, **env: str):
        assert TESSERA.exists(), f"{TESSERA} is missing: pip install -r requirements-dev.txt"
        return subprocess.run(
            [str(TESSERA), *args], input=input, capture_output=True, text=True, timeout=timeout, env=self.env(**env)
        )

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(TESSERA), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env()
        )

    def browser_login(self) -> tuple[subprocess.Popen, str]:
        """Start ``tessera login`` (browser flow, without opening one); answers it and its URL."""
        cli = self.popen("login", "--server", self.server.url, "--no-browser", "--timeout", "60")
        assert cli.stderr is not None
        line = ""
        while "/cli/login?" not in line:
            line = cli.stderr.readline()
            assert line, "the CLI ended without printing the sign-in URL"
        return cli, line.strip()

    def config(self) -> dict:
        return yaml.safe_load(self.config_path.read_text())

    def login(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
        done = self("login", "user", "--server", self.server.url, "-u", username, "--password-stdin", input=password)
        assert done.returncode == 0, done.stderr


@pytest.fixture
def tessera(tmp_path, live_server_process) -> Tessera:
    return Tessera(tmp_path / "home", live_server_process)


@pytest.fixture
def signed_in(tessera, admin_user) -> Tessera:
    tessera.login()
    return tessera
