"""The connection to the control plane: transport interface, websocket, backoff, test double."""

from agent.connection.backoff import Backoff
from agent.connection.transport import (
    Transport,
    TransportClosed,
    TransportError,
    TransportRefused,
    WebSocketTransport,
)

__all__ = [
    "Backoff",
    "Transport",
    "TransportClosed",
    "TransportError",
    "TransportRefused",
    "WebSocketTransport",
]
