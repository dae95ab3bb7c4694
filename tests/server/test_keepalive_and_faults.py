"""The local server's keepalive sweep, and its fault injection driving the client's recovery."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from reverb import ConnectionState, ReverbClient
from reverb.testing import BackgroundServer
from tests.support.raw import RawSocket
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

PING_INTERVAL = 0.05


@pytest.fixture
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(ping_interval=PING_INTERVAL, prune_interval=3600) as running:
        yield running


async def test_silent_subscriber_is_pinged_then_pruned_with_4201(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe("keepalive")
    await socket.recv_event("pusher_internal:subscription_succeeded")
    await asyncio.sleep(PING_INTERVAL * 2)  # let the socket become inactive
    server.sweep()
    assert await socket.recv() == {"event": "pusher:ping"}
    await asyncio.sleep(PING_INTERVAL * 2)
    server.sweep()
    error = await socket.recv_event("pusher:error")
    assert json.loads(error["data"]) == {"code": 4201, "message": "Pong reply not received in time"}
    assert await socket.closed() is None  # no close frame, like Reverb
    assert server.channels() == {}


async def test_a_pong_keeps_the_socket(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await socket.subscribe("keepalive")
    await socket.recv_event("pusher_internal:subscription_succeeded")
    await asyncio.sleep(PING_INTERVAL * 2)
    server.sweep()
    await socket.recv_event("pusher:ping")
    await socket.send({"event": "pusher:pong", "data": {}})
    await socket.nothing_pending()  # the server has read the pong
    server.sweep()
    await socket.nothing_pending()
    assert server.channels() == {"keepalive": 1}


async def test_sockets_without_subscriptions_are_never_pinged(server: BackgroundServer) -> None:
    socket = await RawSocket.open(server.host, server.port, server.app_key)
    await asyncio.sleep(PING_INTERVAL * 2)
    server.sweep()
    server.sweep()
    await socket.nothing_pending()


async def test_client_recovers_from_a_dropped_connection(server: BackgroundServer) -> None:
    settings = server.client_settings(reconnect_delay=0.05, reconnect_max_delay=0.1)
    async with ReverbClient(**settings) as client:
        room = await client.subscribe("presence-faults", user_data={"user_id": "1"})
        first = client.socket_id
        assert first is not None
        server.drop(first)
        await wait_until(lambda: client.socket_id not in (None, first) and room.subscribed)
        assert server.members("presence-faults") == {"1": None}


async def test_client_detects_a_stalled_connection_and_reconnects(
    server: BackgroundServer,
) -> None:
    settings = server.client_settings(
        activity_timeout=0.2, pong_timeout=0.2, reconnect_delay=0.05, reconnect_max_delay=0.1
    )
    async with ReverbClient(**settings) as client:
        orders = await client.subscribe("orders")
        first = client.socket_id
        assert first is not None
        server.stall(first)  # half-open: the server says nothing any more
        await wait_until(lambda: client.socket_id not in (None, first) and orders.subscribed, 5)
        assert client.state is ConnectionState.CONNECTED
        await wait_until(lambda: server.channels() == {"orders": 1})  # old socket cleaned up


async def test_client_answers_server_pings_so_it_is_never_pruned(
    server: BackgroundServer,
) -> None:
    async with ReverbClient(**server.client_settings(activity_timeout=120)) as client:
        await client.subscribe("quiet")
        socket_id = client.socket_id
        assert socket_id is not None
        pong = '{"event":"pusher:pong","data":{}}'

        answered = 0

        def pong_arrived() -> bool:
            assert socket_id is not None
            return server.received(socket_id).count(pong) > answered

        for _ in range(3):
            await asyncio.sleep(PING_INTERVAL * 2)  # silent long enough to be pinged
            server.sweep()  # pings now; a second sweep would prune if no pong came
            await wait_until(pong_arrived)
            answered += 1
        assert client.socket_id == socket_id
        assert server.channels() == {"quiet": 1}
