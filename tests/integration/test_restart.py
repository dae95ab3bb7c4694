"""A server killed and restarted mid-session: every subscription comes back with its handlers."""

from __future__ import annotations

import asyncio

import pytest

from reverb import ConnectionError, ConnectionState, Event, PresenceChannel
from tests.integration.conftest import SERVERS, client_for, new_server, publish
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", SERVERS)
async def test_server_restart_restores_every_subscription_and_handler(kind: str) -> None:
    with new_server(kind) as server:
        async with client_for(server) as client:
            lost: list[ConnectionError | None] = []
            client.on_disconnect = lost.append
            received: asyncio.Queue[Event] = asyncio.Queue()
            orders = await client.subscribe("orders")
            chat = await client.subscribe("private-chat.restart")
            room = await client.subscribe(
                "presence-room.restart", user_data={"user_id": "7", "user_info": {"n": 1}}
            )
            assert isinstance(room, PresenceChannel)
            for channel in (orders, chat, room):
                channel.bind("Announcement", received.put_nowait)
            first_socket = client.socket_id

            server.kill()
            await wait_until(lambda: client.state is not ConnectionState.CONNECTED, timeout=10)
            assert not orders.subscribed
            await asyncio.to_thread(server.start)

            await wait_until(
                lambda: orders.subscribed and chat.subscribed and room.subscribed, timeout=20
            )
            assert client.socket_id != first_socket
            assert client.reconnects == 1
            assert client.channel("orders") is orders
            assert dict(room.members) == {"7": {"n": 1}}
            for name in ("orders", "private-chat.restart", "presence-room.restart"):
                await publish(server, name, "Announcement", {"to": name})
            got: set[str | None] = set()
            async with asyncio.timeout(5):
                while len(got) < 3:
                    got.add((await received.get()).channel)
            assert got == {"orders", "private-chat.restart", "presence-room.restart"}
            await wait_until(lambda: len(lost) == 1)
            assert isinstance(lost[0], ConnectionError)
