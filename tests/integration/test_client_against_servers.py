"""python-reverb against each real server: subscriptions, HTTP-published events, failures."""

from __future__ import annotations

import asyncio
import time

import pytest

from reverb import (
    ConnectionError,
    ConnectionState,
    Event,
    PresenceChannel,
    ReverbClient,
    SubscriptionError,
)
from tests.integration.conftest import client_for, publish
from tests.support.http_proxy import HttpConnectProxy, use_proxy
from tests.support.soketi import ServerUnderTest
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


async def next_event(queue: asyncio.Queue[Event], timeout: float = 5.0) -> Event:
    async with asyncio.timeout(timeout):
        return await queue.get()


async def test_public_channel_receives_http_published_event(
    server: ServerUnderTest, client: ReverbClient
) -> None:
    received: asyncio.Queue[Event] = asyncio.Queue()
    orders = await client.subscribe("orders")
    orders.bind("OrderShipped", received.put_nowait)
    await publish(server, "orders", "OrderShipped", {"order": {"id": 7}, "note": "ünïcode"})
    event = await next_event(received)
    assert event == Event("OrderShipped", "orders", {"order": {"id": 7}, "note": "ünïcode"})


async def test_client_level_and_global_handlers_see_published_events(
    server: ServerUnderTest, client: ReverbClient
) -> None:
    by_name: asyncio.Queue[Event] = asyncio.Queue()
    everything: list[Event] = []
    client.bind("Ping", by_name.put_nowait)
    client.bind_global(everything.append)
    await client.subscribe("global-feed")
    await publish(server, "global-feed", "Ping", "plain text, not JSON")
    event = await next_event(by_name)
    assert event.data == "plain text, not JSON"
    assert event in everything


async def test_private_channel_subscribes_with_local_signature(client: ReverbClient) -> None:
    chat = await client.subscribe("private-chat.1")
    assert chat.subscribed


async def test_presence_channel_members_and_me(server: ServerUnderTest) -> None:
    async with client_for(server) as alice, client_for(server) as bob:
        room_a = await alice.subscribe(
            "presence-room.members", user_data={"user_id": "1", "user_info": {"name": "Alice"}}
        )
        assert isinstance(room_a, PresenceChannel)
        joined: asyncio.Queue[Event] = asyncio.Queue()
        room_a.bind("pusher:member_added", joined.put_nowait)
        room_b = await bob.subscribe(
            "presence-room.members", user_data={"user_id": 2, "user_info": {"name": "Bob"}}
        )
        assert isinstance(room_b, PresenceChannel)
        assert dict(room_b.members) == {"1": {"name": "Alice"}, "2": {"name": "Bob"}}
        assert room_b.me is not None
        assert room_b.me.user_id == "2"
        event = await next_event(joined)
        assert event.data.user_id == "2"
        assert dict(room_a.members) == dict(room_b.members)

        left: asyncio.Queue[Event] = asyncio.Queue()
        room_a.bind("pusher:member_removed", left.put_nowait)
        await bob.unsubscribe("presence-room.members")
        assert (await next_event(left)).data.user_id == "2"
        assert dict(room_a.members) == {"1": {"name": "Alice"}}


async def test_wrong_secret_gives_subscription_error_and_connection_stays_usable(
    server: ServerUnderTest,
) -> None:
    async with client_for(server, app_secret="not-the-secret") as client:
        with pytest.raises(SubscriptionError) as caught:
            await client.subscribe("private-chat.wrong")
        assert caught.value.channel == "private-chat.wrong"
        assert "not-the-secret" not in str(caught.value)
        assert client.channel("private-chat.wrong") is None
        assert (await client.subscribe("still-works")).subscribed
        assert client.is_connected


async def test_unknown_app_key_raises_connection_error_quickly(server: ServerUnderTest) -> None:
    client = client_for(server, app_key="no-such-key", connect_timeout=10.0)
    started = time.monotonic()
    with pytest.raises(ConnectionError) as caught:
        await client.connect()
    assert caught.value.code == 4001
    assert time.monotonic() - started < 2.0
    assert client.state is ConnectionState.FAILED


async def test_keepalive_pings_are_answered_and_the_connection_stays(
    server: ServerUnderTest,
) -> None:
    async with client_for(server, activity_timeout=0.2, pong_timeout=1.0) as client:
        await client.subscribe("keepalive")
        start = client.frames_received
        # Three pongs for three pings, with nothing else on the wire.
        await wait_until(lambda: client.frames_received >= start + 3, timeout=5)
        assert client.reconnects == 0
        assert client.is_connected


async def test_socket_id_excludes_the_sender_like_laravel_to_others(
    server: ServerUnderTest, client: ReverbClient
) -> None:
    received: asyncio.Queue[Event] = asyncio.Queue()
    feed = await client.subscribe("to-others")
    # Only the two events (whether the confirmation reaches a handler bound after subscribe()
    # returned is not this test's business).
    feed.bind("Excluded", received.put_nowait)
    feed.bind("Included", received.put_nowait)
    await publish(server, "to-others", "Excluded", 1, socket_id=client.socket_id)
    await publish(server, "to-others", "Included", 2)
    assert (await next_event(received)).name == "Included"


async def test_through_an_http_proxy_from_the_environment_and_again_after_a_drop(
    server: ServerUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with HttpConnectProxy() as proxy:
        # The websocket goes to "localhost" through the proxy; the HTTP API (127.0.0.1) does not.
        use_proxy(monkeypatch, proxy.url, no_proxy="127.0.0.1")
        async with client_for(server, host="localhost") as client:
            received: asyncio.Queue[Event] = asyncio.Queue()
            chat = await client.subscribe("private-proxied")
            chat.bind("Ping", received.put_nowait)
            await publish(server, "private-proxied", "Ping", {"n": 1})
            assert (await next_event(received)).data == {"n": 1}
            first_socket = client.socket_id
            assert proxy.drop_tunnels() == 2  # client to proxy, proxy to server
            await wait_until(
                lambda: client.socket_id not in (None, first_socket) and chat.subscribed, 10
            )
            await publish(server, "private-proxied", "Ping", {"n": 2})
            assert (await next_event(received)).data == {"n": 2}
    assert [request.target for request in proxy.requests] == [f"localhost:{server.port}"] * 2
