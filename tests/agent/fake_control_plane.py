"""A minimal stand-in for the control plane's agent endpoint, on a real websocket server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response


@asynccontextmanager
async def control_plane(
    handler: Callable[[ServerConnection], Awaitable[None]], token: str = "s3cret"
) -> AsyncIterator[tuple[Server, list[Request]]]:
    """A minimal websocket server that checks the bearer token at the handshake, like the
    control plane's agent endpoint."""
    requests: list[Request] = []

    def check_token(connection: ServerConnection, request: Request) -> Response | None:
        requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {token}":
            return connection.respond(HTTPStatus.FORBIDDEN, "bad token\n")
        return None

    async with serve(handler, "127.0.0.1", 0, process_request=check_token) as server:
        yield server, requests


def url_of(server: Server, path: str = "/agent/v1/clusters/c-1/connect") -> str:
    host, port = server.sockets[0].getsockname()[:2]
    return f"ws://{host}:{port}{path}"
