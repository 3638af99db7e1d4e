"""The transport to the control plane: an interface, and the websocket implementation.

The session only sees :class:`Transport`, so tests drive it with a scripted double and another
carrier could replace websockets without touching the protocol logic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class TransportError(ConnectionError):
    """The connection could not be made or was lost."""


class TransportClosed(TransportError):
    """The connection ended (either side closed it, or it broke)."""


class TransportRefused(TransportError):
    """The server answered the handshake with an HTTP error (403: wrong cluster or token)."""

    def __init__(self, status_code: int, detail: str = "") -> None:
        super().__init__(f"the server refused the connection with HTTP {status_code} {detail}")
        self.status_code = status_code


class Transport(ABC):
    """A message-oriented, bidirectional connection carrying text frames."""

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection. Raises :class:`TransportError`."""

    @abstractmethod
    async def send(self, text: str) -> None:
        """Send one message. Raises :class:`TransportClosed`."""

    @abstractmethod
    async def recv(self) -> str:
        """Wait for the next message. Raises :class:`TransportClosed`."""

    @abstractmethod
    async def close(self) -> None:
        """Close the connection; closing twice is harmless."""


class WebSocketTransport(Transport):
    """The agent's websocket to the control plane, authenticated with a bearer token."""

    def __init__(self, url: str, token: str, open_timeout: float = 10.0) -> None:
        self.url = url
        self._token = token
        self._open_timeout = open_timeout
        self._ws: ClientConnection | None = None

    async def connect(self) -> None:
        try:
            self._ws = await connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                open_timeout=self._open_timeout,
                max_size=MAX_MESSAGE_BYTES,
            )
        except InvalidStatus as exc:
            body = (exc.response.body or b"").decode(errors="replace").strip()[:200]
            raise TransportRefused(exc.response.status_code, body) from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise TransportError(f"could not connect to {self.url}: {exc}") from None

    async def send(self, text: str) -> None:
        try:
            await self._connection().send(text)
        except ConnectionClosed as exc:
            raise TransportClosed(f"connection closed: {exc}") from None

    async def recv(self) -> str:
        try:
            message = await self._connection().recv()
        except ConnectionClosed as exc:
            raise TransportClosed(f"connection closed: {exc}") from None
        return message.decode("utf-8", errors="replace") if isinstance(message, bytes) else message

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    def _connection(self) -> ClientConnection:
        if self._ws is None:
            raise TransportClosed("not connected")
        return self._ws
