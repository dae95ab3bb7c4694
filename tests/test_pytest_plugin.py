"""The pytest plugin's fixtures, as a user's test suite would use them."""

from __future__ import annotations

import asyncio
import json

import pytest

from reverb import Event, ReverbClient
from reverb.testing import BackgroundServer
from tests.support.raw import RawSocket


async def test_fixtures_connect_a_client_to_a_fresh_server(
    reverb_server: BackgroundServer, reverb_client: ReverbClient
) -> None:
    assert reverb_client.is_connected
    assert reverb_server.socket_ids() == [reverb_client.socket_id]
    room = await reverb_client.subscribe("presence-plugin", user_data={"user_id": "me"})
    assert room.subscribed
    assert reverb_server.channels() == {"presence-plugin": 1}
    assert reverb_server.members("presence-plugin") == {"me": None}


async def test_two_clients_whisper_through_the_fixture_server(
    reverb_server: BackgroundServer, reverb_client: ReverbClient
) -> None:
    heard: asyncio.Queue[Event] = asyncio.Queue()
    mine = await reverb_client.subscribe("private-chat")
    mine.bind("client-hi", heard.put_nowait)
    async with ReverbClient(**reverb_server.client_settings()) as other:
        theirs = await other.subscribe("private-chat")
        await theirs.trigger("client-hi", {"n": 1})
        async with asyncio.timeout(5):
            assert (await heard.get()).data == {"n": 1}
        assert any(
            json.loads(message)["event"] == "client-hi"
            for message in reverb_server.received(other.socket_id or "")
        )


@pytest.mark.reverb_server(dialect="soketi", accept_client_events_from="none")
async def test_the_marker_configures_the_server(reverb_server: BackgroundServer) -> None:
    socket = await RawSocket.open(reverb_server.host, reverb_server.port, reverb_server.app_key)
    await socket.send({"event": "pusher:ping", "data": {}})
    assert await socket.recv() == {"event": "pusher:pong", "data": {}}  # Soketi's shape
    await socket.send({"event": "client-x", "channel": "private-a", "data": {}})
    error = await socket.recv_event("pusher:error")
    assert error["data"]["code"] == 4301
    await socket.close()


def test_sync_tests_can_use_the_server_too(reverb_server: BackgroundServer) -> None:
    assert reverb_server.running
    assert reverb_server.channels() == {}
    reverb_server.trigger("nobody-listens", "E", {})  # dropped, as Reverb does
