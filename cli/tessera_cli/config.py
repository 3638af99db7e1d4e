"""The config file: the server's URL, a bearer token and the default project; never a password.

It lives at ``$TESSERA_CONFIG``, else ``$XDG_CONFIG_HOME/tessera/config.yaml`` (``~/.config``), and
is written with mode 600 (its folder 700) because the token is a credential."""

import os
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tessera_cli.errors import CliError, ExitCode


def config_path() -> Path:
    explicit = os.environ.get("TESSERA_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "tessera" / "config.yaml"


@dataclass
class Config:
    server: str | None = None
    token: str | None = None
    tokenExpiresAt: str | None = None  # ISO 8601, UTC; for the message only, the server decides
    subject: str | None = None  # who the token speaks for: a username or an application's name
    subjectType: str | None = None  # "user" or "app"
    project: str | None = None  # default project's name (``tessera project set``)
    projectId: str | None = None

    @classmethod
    def load(cls) -> "Config":
        path = config_path()
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            return cls()
        except (OSError, yaml.YAMLError) as exc:
            raise CliError(f"Cannot read the config file {path}: {exc}")
        if not isinstance(data, dict):
            raise CliError(f"The config file {path} is not a mapping; remove it and run `tessera login`.")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known and (v is None or isinstance(v, str))})

    def save(self) -> Path:
        path = config_path()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data: dict[str, Any] = {k: v for k, v in asdict(self).items() if v is not None}
        # Created 600 from the start, so the token is never readable by others, even for a moment.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            os.fchmod(out.fileno(), 0o600)  # an older file may have had a wider mode
            yaml.safe_dump(data, out, sort_keys=False)
        return path

    def token_expired_at(self) -> str | None:
        """When the stored token expired, if it has; None while it lives or when unknown."""
        try:
            expires = datetime.fromisoformat(self.tokenExpiresAt or "")
        except ValueError:
            return None
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return self.tokenExpiresAt if expires <= datetime.now(UTC) else None

    def forget_login(self) -> None:
        self.token = self.tokenExpiresAt = self.subject = self.subjectType = None

    def require_server(self, given: str | None = None) -> str:
        server = given or os.environ.get("TESSERA_SERVER") or self.server
        if not server:
            raise CliError(
                "No server configured: run `tessera login --server URL` first (or set TESSERA_SERVER).",
                ExitCode.USAGE,
            )
        return server.rstrip("/")
