"""The control plane's REST API as the CLI uses it; HTTP failures become exit codes."""

import os
from collections.abc import Iterator
from typing import Any

import httpx

from tessera_cli import __version__
from tessera_cli.config import Config
from tessera_cli.errors import CliError, ExitCode

STATUS_EXIT_CODES = {
    400: ExitCode.USAGE,
    401: ExitCode.UNAUTHENTICATED,
    403: ExitCode.FORBIDDEN,
    404: ExitCode.NOT_FOUND,
    409: ExitCode.CONFLICT,
    422: ExitCode.USAGE,
}
NOT_SIGNED_IN = "Not signed in: run `tessera login`."
PAGE_SIZE = 500  # the API's largest page


def server_message(response: httpx.Response) -> str:
    """The server's own words: Run:ai's ``{"code", "message"}``, OAuth's ``error_description``."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "error_description", "detail"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return str(body)[:500]


def failure(response: httpx.Response, what: str = "") -> CliError:
    code = STATUS_EXIT_CODES.get(response.status_code, ExitCode.ERROR)
    message = server_message(response)
    if response.status_code == 401:
        message = f"{message} Run `tessera login` to sign in again."
    prefix = f"{what}: " if what else ""
    return CliError(f"{prefix}{message} (HTTP {response.status_code})", code)


class Api:
    """An HTTP client bound to one server and, once signed in, one bearer token."""

    def __init__(self, server: str, token: str | None = None, timeout: float = 30) -> None:
        headers = {"User-Agent": f"tessera-cli/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.server = server
        self.http = httpx.Client(base_url=server, headers=headers, timeout=timeout)

    @classmethod
    def signed_in(cls, config: Config) -> "Api":
        token = os.environ.get("TESSERA_TOKEN")
        if not token:
            token = config.token
            if not token:
                raise CliError(NOT_SIGNED_IN, ExitCode.UNAUTHENTICATED)
            expired_at = config.token_expired_at()
            if expired_at:  # known here from the lifetime the server gave: no need to ask it
                raise CliError(f"Your sign-in expired at {expired_at}: run `tessera login`.", ExitCode.UNAUTHENTICATED)
        return cls(config.require_server(), token)

    def request(self, method: str, path: str, what: str = "", **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise CliError(f"Cannot reach {self.server}: {exc}", ExitCode.UNREACHABLE)
        if response.is_error:
            raise failure(response, what)
        return response

    def get(self, path: str, what: str = "", **params: Any) -> Any:
        return self.request("GET", path, what, params=params or None).json()

    def post(self, path: str, body: Any = None, what: str = "") -> Any:
        response = self.request("POST", path, what, json=body if body is not None else {})
        return response.json() if response.content else None

    def delete(self, path: str, what: str = "") -> Any:
        response = self.request("DELETE", path, what)
        return response.json() if response.content else None

    def text(self, path: str, **params: Any) -> str:
        return self.request("GET", path, params=params or None).text

    def pages(self, path: str, key: str, filters: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a Run:ai list, page after page (``offset``/``limit``, ``next``)."""
        offset: int | None = 0
        while offset is not None:
            params: dict[str, Any] = {"offset": offset, "limit": PAGE_SIZE}
            if filters:
                params["filterBy"] = ",".join(filters)
            body = self.get(path, **params)
            yield from body.get(key, [])
            offset = body.get("next")
