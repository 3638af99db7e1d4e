"""The connection layer: backoff, the scripted test double, and the real websocket transport."""

from __future__ import annotations

import asyncio
import random

import pytest
from websockets.asyncio.server import ServerConnection

from agent.connection.backoff import Backoff
from agent.connection.scripted import Deliver, Expect, ScriptedTransport, ScriptMismatch
from agent.connection.transport import TransportClosed, TransportRefused, WebSocketTransport
from agent.protocol import HeartbeatMessage, WelcomeMessage, dump_message
from tests.agent.fake_control_plane import control_plane, url_of


def test_backoff_doubles_from_half_a_second_up_to_the_cap_with_jitter() -> None:
    backoff = Backoff(initial=0.5, cap=30.0, rng=random.Random(1))

    delays = [backoff.next_delay() for _ in range(12)]

    nominal = [min(30.0, 0.5 * 2**i) for i in range(12)]
    assert all(n / 2 <= d <= n for d, n in zip(delays, nominal, strict=True))
    assert max(delays) <= 30.0
    assert len(set(delays)) == len(delays)  # jittered, not lockstep


def test_backoff_starts_again_after_a_reset() -> None:
    backoff = Backoff(initial=0.5, cap=30.0)
    for _ in range(10):
        backoff.next_delay()

    backoff.reset()

    assert backoff.next_delay() <= 0.5


def test_the_scripted_transport_reports_a_mismatch_with_the_history_of_calls() -> None:
    transport = ScriptedTransport([Deliver(WelcomeMessage(cluster_id="c")), Expect("hello")])

    async def scenario() -> None:
        await transport.connect()
        await transport.recv()
        with pytest.raises(ScriptMismatch) as raised:
            await transport.send(dump_message(WelcomeMessage(cluster_id="c")))  # not agent's
        assert "history of calls" in str(raised.value) and "control -> " in str(raised.value)
        with pytest.raises(TransportClosed):
            await transport.recv()

    asyncio.run(scenario())


def test_the_scripted_transport_tolerates_messages_that_follow_timing() -> None:
    transport = ScriptedTransport([Expect("hello")])

    async def scenario() -> None:
        await transport.send(dump_message(HeartbeatMessage(seq=1)))
        with pytest.raises(ScriptMismatch, match="timed out"):
            await transport.wait_done(timeout=0.05)

    asyncio.run(scenario())


def test_the_websocket_transport_sends_the_bearer_token_and_exchanges_text() -> None:
    async def echo(connection: ServerConnection) -> None:
        async for message in connection:
            await connection.send(f"echo {message}")

    async def scenario() -> None:
        async with control_plane(echo) as (server, requests):
            transport = WebSocketTransport(url_of(server), "s3cret")
            await transport.connect()
            await transport.send("ping")
            assert await transport.recv() == "echo ping"
            await transport.close()
            assert requests[0].path == "/agent/v1/clusters/c-1/connect"

    asyncio.run(scenario())


def test_the_websocket_transport_reports_a_refused_handshake_with_its_status() -> None:
    async def never(connection: ServerConnection) -> None:
        raise AssertionError("a refused agent must not get a connection")

    async def scenario() -> None:
        async with control_plane(never) as (server, _):
            with pytest.raises(TransportRefused) as raised:
                await WebSocketTransport(url_of(server), "wrong").connect()
            assert raised.value.status_code == 403

    asyncio.run(scenario())


def test_the_websocket_transport_reports_a_closed_connection() -> None:
    async def hang_up(connection: ServerConnection) -> None:
        await connection.close()

    async def scenario() -> None:
        async with control_plane(hang_up) as (server, _):
            transport = WebSocketTransport(url_of(server), "s3cret")
            await transport.connect()
            with pytest.raises(TransportClosed):
                await transport.recv()

    asyncio.run(scenario())
